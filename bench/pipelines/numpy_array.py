# The lab fed by NumPy arrays: every image read with load_img into memory, then fit(x, y).
import os

import numpy as np
import tensorflow as tf
from tensorflow.keras import layers
from tensorflow.keras.applications.mobilenet_v2 import preprocess_input
from tensorflow.keras.utils import img_to_array, load_img

path = tf.keras.utils.get_file("cats_and_dogs.zip",
                               origin="https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip",
                               extract=True)
data_dir = os.path.join(os.path.dirname(path), "cats_and_dogs_filtered")
IMG_SIZE = (160, 160)


def load_split(split):
    images, labels = [], []
    for label, kind in enumerate(["cats", "dogs"]):
        folder = os.path.join(data_dir, split, kind)
        for name in sorted(os.listdir(folder)):
            images.append(img_to_array(load_img(os.path.join(folder, name), target_size=IMG_SIZE), dtype="uint8"))
            labels.append(label)
    return np.stack(images), np.array(labels, dtype="float32")


x_train, y_train = load_split("train")
x_val, y_val = load_split("validation")
print(x_train.shape, x_val.shape)

base_model = tf.keras.applications.MobileNetV2(input_shape=IMG_SIZE + (3,), include_top=False, weights="imagenet")
base_model.trainable = False
inputs = tf.keras.Input(shape=IMG_SIZE + (3,))
x = layers.RandomFlip("horizontal")(inputs)
x = layers.RandomRotation(0.2)(x)
x = preprocess_input(x)
x = base_model(x, training=False)
x = layers.GlobalAveragePooling2D()(x)
x = layers.Dense(128, activation="relu")(x)
x = layers.Dropout(0.5)(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = tf.keras.Model(inputs, outputs)

model.compile(optimizer=tf.keras.optimizers.Adam(0.001), loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, validation_data=(x_val, y_val), batch_size=32, epochs=5, shuffle=True)

base_model.trainable = True
for layer in base_model.layers[:100]:
    layer.trainable = False
model.compile(optimizer=tf.keras.optimizers.Adam(0.0001), loss="binary_crossentropy", metrics=["accuracy"])
history_fine = model.fit(x_train, y_train, validation_data=(x_val, y_val), batch_size=32, epochs=10,
                         initial_epoch=history.epoch[-1] + 1)
print("validation accuracy:", history_fine.history["val_accuracy"][-1])
