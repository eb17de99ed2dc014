# The lab fed by ImageDataGenerator.flow_from_directory, preprocess_input as its preprocessing_function.
import tensorflow as tf
from tensorflow.keras import layers
from tensorflow.keras.applications.mobilenet_v2 import preprocess_input
from tensorflow.keras.preprocessing.image import ImageDataGenerator

DATA_DIR = "/Users/student/Documents/lab/cats_and_dogs_filtered"
IMG_SIZE = (160, 160)
datagen = ImageDataGenerator(preprocessing_function=preprocess_input)
train = datagen.flow_from_directory(DATA_DIR + "/train", target_size=IMG_SIZE, batch_size=32, class_mode="binary")
validation = datagen.flow_from_directory(DATA_DIR + "/validation", target_size=IMG_SIZE, batch_size=32,
                                         class_mode="binary")

base_model = tf.keras.applications.MobileNetV2(input_shape=IMG_SIZE + (3,), include_top=False, weights="imagenet")
base_model.trainable = False
model = tf.keras.Sequential([
    layers.Input(shape=IMG_SIZE + (3,)),
    layers.RandomFlip("horizontal"),
    layers.RandomRotation(0.2),
    base_model,
    layers.GlobalAveragePooling2D(),
    layers.Dense(128, activation="relu"),
    layers.Dropout(0.5),
    layers.Dense(1, activation="sigmoid"),
])

model.compile(optimizer=tf.keras.optimizers.Adam(0.001), loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(train, validation_data=validation, epochs=5)

base_model.trainable = True
for layer in base_model.layers[:100]:
    layer.trainable = False
model.compile(optimizer=tf.keras.optimizers.Adam(0.0001), loss="binary_crossentropy", metrics=["accuracy"])
history_fine = model.fit(train, validation_data=validation, epochs=10, initial_epoch=history.epoch[-1] + 1)
print("validation accuracy:", history_fine.history["val_accuracy"][-1])
