# Lab 06: transfer learning with MobileNetV2 (Frank).
import matplotlib.pyplot as plt
import tensorflow as tf
from tensorflow.keras import layers, models
from tensorflow.keras.applications import MobileNetV2
from tensorflow.keras.applications.mobilenet_v2 import preprocess_input
from tensorflow.keras.preprocessing.image import ImageDataGenerator

DATA_DIR = "/Users/hritikanand/Documents/Lab 06/cats_and_dogs_filtered"
IMG_SIZE = (160, 160)

datagen = ImageDataGenerator(preprocessing_function=preprocess_input, validation_split=0.2)
train_generator = datagen.flow_from_directory(DATA_DIR + "/train", target_size=IMG_SIZE, batch_size=32,
                                              class_mode="binary", subset="training")
validation_generator = datagen.flow_from_directory(DATA_DIR + "/train", target_size=IMG_SIZE, batch_size=32,
                                                   class_mode="binary", subset="validation")

# Load pre-trained MobileNetV2 without top layers (Transfer Learning Step)
base_model = MobileNetV2(input_shape=(160, 160, 3), include_top=False, weights="imagenet")
base_model.trainable = False  # Freeze the base

# Data augmentation layers
data_augmentation = tf.keras.Sequential([
    layers.RandomFlip("horizontal"),
    layers.RandomRotation(0.2),
])

# Add new classifier on top of MobileNetV2
model = models.Sequential([
    layers.Input(shape=(160, 160, 3)),
    data_augmentation,
    base_model,
    layers.GlobalAveragePooling2D(),
    layers.Dense(128, activation="relu"),
    layers.Dropout(0.5),
    layers.Dense(1, activation="sigmoid"),
])

model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=0.001),
              loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(train_generator, validation_data=validation_generator, epochs=5)

# Fine-tuning: unfreeze the top of the base
base_model.trainable = True
fine_tune_at = 100
for layer in base_model.layers[:fine_tune_at]:
    layer.trainable = False
for layer in base_model.layers:
    if isinstance(layer, layers.BatchNormalization):
        layer.trainable = False

history_fine = model.fit(train_generator, validation_data=validation_generator, epochs=10,
                         initial_epoch=history.epoch[-1])

plt.plot(history.history["accuracy"] + history_fine.history["accuracy"], label="accuracy")
plt.legend()
plt.show()
