# Lab 06 (Bob): the sample answer sheet's code. Validation accuracy stayed at 0.50 for ten epochs.
import matplotlib.pyplot as plt
import tensorflow as tf
from tensorflow.keras import layers, models
from tensorflow.keras.applications import MobileNetV2
from tensorflow.keras.applications.mobilenet_v2 import preprocess_input
from tensorflow.keras.preprocessing.image import ImageDataGenerator

if tf.config.list_physical_devices("GPU"):
    print("✓ GPU is available and configured!")

DATA_DIR = "/Users/bob/Library/CloudStorage/OneDrive/Lab 06/cats_and_dogs_filtered"

train_datagen = ImageDataGenerator(rescale=1.0 / 255, validation_split=0.2)
train_generator = train_datagen.flow_from_directory(DATA_DIR + "/train", target_size=(160, 160), batch_size=32,
                                                    class_mode="binary", subset="training")
validation_generator = train_datagen.flow_from_directory(DATA_DIR + "/train", target_size=(160, 160),
                                                         batch_size=32, class_mode="binary", subset="validation")

# Load pre-trained MobileNetV2 without top layers (Transfer Learning Step)
base_model = MobileNetV2(input_shape=(160, 160, 3), include_top=False, weights="imagenet")
base_model.trainable = False  # Freeze the base

# Data augmentation layers
data_augmentation = tf.keras.Sequential([
    layers.RandomFlip("horizontal"),
    layers.RandomRotation(0.2),
])

# Add new classifier on top of MobileNetV2
inputs = tf.keras.Input(shape=(160, 160, 3))
x = data_augmentation(inputs)
x = preprocess_input(x)
x = base_model(x, training=False)
x = layers.GlobalAveragePooling2D()(x)
x = layers.Dense(128, activation="relu")(x)
x = layers.Dropout(0.5)(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = models.Model(inputs, outputs)

model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(train_generator, validation_data=validation_generator, epochs=5)

base_model.trainable = True
for layer in base_model.layers[:100]:
    layer.trainable = False
model.compile(optimizer=tf.keras.optimizers.Adam(1e-5), loss="binary_crossentropy", metrics=["accuracy"])
history_fine = model.fit(train_generator, validation_data=validation_generator, epochs=10, initial_epoch=5)

plt.plot(history.history["val_accuracy"] + history_fine.history["val_accuracy"])
plt.show()
