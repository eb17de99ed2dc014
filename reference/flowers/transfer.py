"""Reference solution of a five-class flowers variant of the lab, as a student hands it in.

EfficientNetB0 at 224x224x3 (ImageNet weights, frozen; it rescales 0..255 images inside the
model, so no preprocessing), RandomFlip('horizontal') and RandomRotation(0.1), a head of
GlobalAveragePooling2D -> Dropout(0.2) -> Dense(5, softmax) trained with sparse categorical
cross-entropy on TensorFlow's flower_photos split 80/20; then fine-tuning from layer 200 with a
learning rate ten times lower, carrying the epoch count on. Graded by rubrics/flowers.toml; runs
offline under the grader's harness (the photos and the weights are served by it).
"""

import pathlib

import tensorflow as tf

dataset_url = "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz"
archive = tf.keras.utils.get_file(origin=dataset_url, extract=True)
data_dir = pathlib.Path(archive) / "flower_photos"
print("images:", len(list(data_dir.glob("*/*.jpg"))))

BATCH_SIZE = 32
IMG_SIZE = (224, 224)
train_ds = tf.keras.utils.image_dataset_from_directory(data_dir, validation_split=0.2, subset="training", seed=123,
                                                       image_size=IMG_SIZE, batch_size=BATCH_SIZE)
val_ds = tf.keras.utils.image_dataset_from_directory(data_dir, validation_split=0.2, subset="validation", seed=123,
                                                     image_size=IMG_SIZE, batch_size=BATCH_SIZE)
class_names = train_ds.class_names
num_classes = len(class_names)

AUTOTUNE = tf.data.AUTOTUNE
train_ds = train_ds.prefetch(buffer_size=AUTOTUNE)
val_ds = val_ds.prefetch(buffer_size=AUTOTUNE)

data_augmentation = tf.keras.Sequential([
    tf.keras.layers.RandomFlip("horizontal"),
    tf.keras.layers.RandomRotation(0.1),
])

base_model = tf.keras.applications.EfficientNetB0(input_shape=IMG_SIZE + (3,), include_top=False, weights="imagenet")
base_model.trainable = False

inputs = tf.keras.Input(shape=IMG_SIZE + (3,))
x = data_augmentation(inputs)
x = base_model(x, training=False)  # EfficientNet takes 0..255 pixels: it rescales inside
x = tf.keras.layers.GlobalAveragePooling2D()(x)
x = tf.keras.layers.Dropout(0.2)(x)
outputs = tf.keras.layers.Dense(num_classes, activation="softmax")(x)
model = tf.keras.Model(inputs, outputs)

base_learning_rate = 0.001
model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=base_learning_rate),
              loss=tf.keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])

initial_epochs = 10
history = model.fit(train_ds, validation_data=val_ds, epochs=initial_epochs)

base_model.trainable = True
fine_tune_at = 200
for layer in base_model.layers[:fine_tune_at]:
    layer.trainable = False

model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=base_learning_rate / 10),
              loss=tf.keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])

fine_tune_epochs = 10
history_fine = model.fit(train_ds, validation_data=val_ds, epochs=initial_epochs + fine_tune_epochs,
                         initial_epoch=len(history.epoch))
