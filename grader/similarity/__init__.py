"""Code that students share: pairs of submissions whose code matches beyond what the lab hands out.

``tokens`` reads a script or a notebook's code cells into a normalised token stream (names bound
by the student and literals made alike, comments and layout dropped); ``fingerprints`` winnows its
k-grams (as MOSS does); ``pairs`` indexes every submission's fingerprints once, leaves out the
boilerplate and what most of the class shares, and returns the pairs with their matching passages.
Similarity is evidence for a person: nothing here changes a score. docs/similarity.md explains it.
"""
