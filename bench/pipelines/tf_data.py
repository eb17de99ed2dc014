# The lab fed by tf.data: image_dataset_from_directory, prefetched (the TensorFlow tutorial's way).
import os

import tensorflow as tf
from tensorflow.keras import layers

path = tf.keras.utils.get_file("cats_and_dogs.zip",
                               origin="https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip",
                               extract=True)
data_dir = os.path.join(os.path.dirname(path), "cats_and_dogs_filtered")
IMG_SIZE = (160, 160)
train = tf.keras.utils.image_dataset_from_directory(os.path.join(data_dir, "train"), shuffle=True,
                                                    batch_size=32, image_size=IMG_SIZE)
validation = tf.keras.utils.image_dataset_from_directory(os.path.join(data_dir, "validation"), shuffle=True,
                                                         batch_size=32, image_size=IMG_SIZE)
train = train.prefetch(tf.data.AUTOTUNE)
validation = validation.prefetch(tf.data.AUTOTUNE)

base_model = tf.keras.applications.MobileNetV2(input_shape=IMG_SIZE + (3,), include_top=False, weights="imagenet")
base_model.trainable = False
inputs = tf.keras.Input(shape=IMG_SIZE + (3,))
x = layers.RandomFlip("horizontal")(inputs)
x = layers.RandomRotation(0.2)(x)
x = tf.keras.applications.mobilenet_v2.preprocess_input(x)
x = base_model(x, training=False)
x = layers.GlobalAveragePooling2D()(x)
x = layers.Dense(128, activation="relu")(x)
x = layers.Dropout(0.5)(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = tf.keras.Model(inputs, outputs)

model.compile(optimizer=tf.keras.optimizers.Adam(0.001), loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(train, validation_data=validation, epochs=5)

base_model.trainable = True
for layer in base_model.layers[:100]:
    layer.trainable = False
model.compile(optimizer=tf.keras.optimizers.Adam(0.0001), loss="binary_crossentropy", metrics=["accuracy"])
history_fine = model.fit(train, validation_data=validation, epochs=10, initial_epoch=history.epoch[-1] + 1)
print("validation accuracy:", history_fine.history["val_accuracy"][-1])
