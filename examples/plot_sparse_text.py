"""
Sparse text classification
==========================

Text vectorizers produce large, sparse matrices: one column per word (or per
hash bucket), a handful of non-zeros per row. :class:`~sk_softmax.SoftmaxRegression`
accepts SciPy sparse matrices (CSR, or CSC which it converts to CSR) without
densifying them, and keeps ``float32`` input in ``float32``.

To stay offline this example generates its own small corpus: short "documents"
about four topics, each mixing topic words with words shared by all topics.
We classify them with a :class:`~sklearn.feature_extraction.text.TfidfVectorizer`
pipeline and a :class:`~sklearn.feature_extraction.text.HashingVectorizer`
pipeline, and look at the words with the largest weights per class.
"""

# %%
# A generated corpus
# ------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sk_softmax import SoftmaxRegression

topics = {
    "sports": "match goal team coach league season player score referee stadium "
    "tournament keeper striker defence victory trophy injury transfer fans win",
    "science": "experiment theory data molecule energy physics cell research "
    "laboratory hypothesis particle quantum protein measurement telescope gene "
    "evidence journal model observation",
    "cooking": "recipe oven flour butter garlic onion sauce simmer bake pan salt "
    "pepper dough roast spice kitchen chef taste boil dinner",
    "music": "guitar melody concert album band rhythm song piano chorus singer "
    "drums tour record jazz orchestra tempo lyrics stage note festival",
}
shared = (
    "the a of and to in is it that for on with as was at by this from an be "
    "new time year people day week great good first last long little own other "
    "old right big high different small large next early young important few "
    "public bad same able report result play score model record note stage"
).split()

# Plus 5000 made-up rare words ("w0", "w1", ...) with Zipf-like frequencies, so
# that the vocabulary, and the matrix, are wide and sparse like real text.
rng = np.random.default_rng(0)
filler = np.array(shared + [f"w{i}" for i in range(5000)])
freq = 1.0 / np.arange(1, filler.size + 1)
freq /= freq.sum()
names = list(topics)
docs, labels = [], []
for _ in range(2000):
    k = rng.integers(len(names))
    words = topics[names[k]].split()
    n_words = rng.integers(15, 40)
    # About one word in eight is a topic word; the rest are filler. Some shared
    # words ("score", "model", "record", "note", "stage") are also topic words
    # of one class, which makes them ambiguous.
    is_topic = rng.random(n_words) < 0.125
    doc = np.where(
        is_topic, rng.choice(words, n_words), rng.choice(filler, n_words, p=freq)
    )
    docs.append(" ".join(doc))
    labels.append(names[k])
labels = np.array(labels)
print(docs[0])
print("label:", labels[0])

docs_train, docs_test, y_train, y_test = train_test_split(
    docs, labels, test_size=0.3, random_state=0, stratify=labels
)

# %%
# TF-IDF features, float32
# ------------------------
# ``TfidfVectorizer`` returns a CSR matrix; with ``dtype=np.float32`` the whole
# fit runs in single precision, and ``coef_`` is ``float32`` too.
tfidf = TfidfVectorizer(dtype=np.float32)
X_train = tfidf.fit_transform(docs_train)
print(
    f"X_train: {type(X_train).__name__}, shape {X_train.shape}, dtype "
    f"{X_train.dtype}, {X_train.nnz / X_train.shape[0]:.1f} non-zeros per row"
)
clf = SoftmaxRegression(C=10.0).fit(X_train, y_train)
print("classes_:", clf.classes_)
print("coef_:", clf.coef_.shape, clf.coef_.dtype)
print(f"test accuracy: {clf.score(tfidf.transform(docs_test), y_test):.3f}")

# %%
# The same in a pipeline, with a hashing vectorizer
# -------------------------------------------------
# ``HashingVectorizer`` needs no vocabulary: each word is hashed into one of
# ``n_features`` columns. It is stateless, so it also suits data that do not
# fit in memory. The model is the same; only the columns lost their names.
hashing = make_pipeline(
    HashingVectorizer(n_features=2**14, alternate_sign=False),
    SoftmaxRegression(C=10.0),
)
hashing.fit(docs_train, y_train)
print(f"hashing pipeline test accuracy: {hashing.score(docs_test, y_test):.3f}")
print("n_features_in_ of the classifier:", hashing[-1].n_features_in_)

# %%
# Which words matter
# ------------------
# Each class has its own weight row, so the largest entries of ``coef_[k]`` are
# the words that raise the score of class ``k`` most. The shared words that
# are also topic words (such as "score" or "record") get smaller weights than
# the unambiguous ones.
vocabulary = tfidf.get_feature_names_out()
fig, axes = plt.subplots(1, 4, figsize=(14, 4), sharex=True)
for k, ax in enumerate(axes):
    top = np.argsort(clf.coef_[k])[-8:]
    ax.barh(vocabulary[top], clf.coef_[k][top], color=f"C{k}")
    ax.set_title(f"class {clf.classes_[k]!r}")
    ax.set_xlabel("coef_")
fig.suptitle("Largest weights per class (TF-IDF + SoftmaxRegression)")
fig.tight_layout()
plt.show()
