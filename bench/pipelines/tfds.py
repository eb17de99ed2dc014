# The lab fed by tensorflow_datasets: cats_vs_dogs split 80/20, resized and batched in tf.data.
import tensorflow as tf
import tensorflow_datasets as tfds
from tensorflow.keras import layers

IMG_SIZE = (160, 160)
(raw_train, raw_validation), info = tfds.load("cats_vs_dogs", split=["train[:80%]", "train[80%:]"],
                                              with_info=True, as_supervised=True)


def format_example(image, label):
    image = tf.image.resize(tf.cast(image, tf.float32), IMG_SIZE)
    return tf.keras.applications.mobilenet_v2.preprocess_input(image), label


train = raw_train.map(format_example).shuffle(1000).batch(32).prefetch(tf.data.AUTOTUNE)
validation = raw_validation.map(format_example).batch(32).prefetch(tf.data.AUTOTUNE)

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
