"""Read the real texts of shared/data/appeals-train with stable ids and our labels.

The texts stay in shared/; the project keeps ids and labels only (tools/train/).
Every reader yields dicts {"id", "source", "text", ...}; ids are
"<source>:<id in the file>" and never change between runs, so labels, splits
and the shipped model refer to the same rows on every machine.

Sources:
  ryazan   portal appeals, labelled with 30 categories (mapped to ours)
  troitsk  appeals to a city head: the long text ("troitsk") and the
           citizen's own subject line ("troitsk-title"), hand-labelled with our
           kinds and categories (one label per appeal); the head's replies left out
  spbw     a district administration's VK wall comments, 2019-2023 (residents only)
  spb24    the same community, 2024 (residents' comments and replies only)
  pb       a municipal district's VK comments and replies, 2021-2024
  tweet    tweets on everything (rusentitweet)
  bank, telecom  tweets about banks and mobile operators (hard negatives)
"""

import csv
import hashlib
import os
import unicodedata

csv.field_size_limit(1 << 30)

HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN_DIR = os.path.join(HERE, "train")
DEFAULT_DATA = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data",
                                             "appeals-train"))

APPEAL_KINDS = ("complaint", "question", "request")
KINDS = APPEAL_KINDS + ("gratitude", "noise")
CATEGORIES = ("improvement", "roads", "housing", "waste", "transport", "health",
              "education", "social", "gas", "power", "ecology", "safety",
              "culture", "sport", "trade", "construction", "communications",
              "public_services", "other")


def data_dir(path=None):
    return path or os.environ.get("APPEALSD_TRAIN_DATA") or DEFAULT_DATA


def _rows(path, delimiter=","):
    with open(path, encoding="utf-8", newline="") as f:
        yield from csv.DictReader(f, delimiter=delimiter)


def norm_key(text):
    """What makes two texts the same for deduplication: case, spaces, ё."""
    t = unicodedata.normalize("NFC", text).lower().replace("ё", "е")
    return " ".join(t.split())


def split_of(row_id, dev_share=55):
    """A stable split by id: 'dev' for dev_share percent of ids, else 'train'."""
    h = int(hashlib.sha256(row_id.encode()).hexdigest()[:8], 16) % 100
    return "dev" if h < dev_share else "train"


# What is held out of training, for thresholds and evaluation: a share of the
# labelled comments ("dev"), of the portal appeals ("portal-dev", out of the
# appeal head only) and of the tweets ("dev").
PORTAL_DEV = 20
TWEET_DEV = 30


def appeal_key(row_id):
    """The appeal a row belongs to: an appeal's subject line goes with its
    text, so that a split or a fold never holds one out and trains on the other."""
    return row_id.replace("troitsk-title:", "troitsk:", 1)


def portal_split(row_id):
    return "portal-dev" if split_of(appeal_key(row_id), PORTAL_DEV) == "dev" else "train"


def tweet_split(row_id):
    return split_of(row_id, TWEET_DEV)


def read_tsv(name):
    """tools/train/NAME as a list of field lists, comments and blanks skipped."""
    out = []
    with open(os.path.join(TRAIN_DIR, name), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                out.append(line.split("\t"))
    return out


# The author of the head's own replies in the Troitsk file (SHA-256 prefix of
# the author field: names stay in shared/data).
TROITSK_HEAD = "74f0dfc1e812"


def theme_id(theme):
    """How tools/train/ryazan-themes.tsv names a theme without its text."""
    return hashlib.sha256(theme.strip().encode()).hexdigest()[:12]


def ryazan_mapping():
    """(category -> code, (category, theme id) -> code) from the mapping files."""
    cats = {r[0]: r[1] for r in read_tsv("ryazan-categories.tsv")}
    themes = {(r[0], r[1]): r[2] for r in read_tsv("ryazan-themes.tsv")}
    return cats, themes


def ryazan(d=None):
    cats, themes = ryazan_mapping()
    for r in _rows(os.path.join(data_dir(d), "ryazan-nashdom-2019.csv")):
        code = themes.get((r["category"], theme_id(r["theme"])), cats.get(r["category"]))
        if code in (None, "-"):
            continue
        yield {"id": "ryazan:" + r["id"], "source": "ryazan", "text": r["text"],
               "kind": None, "category": code}


def troitsk_labels():
    """appeal id -> (kind, category or None), from tools/train/troitsk-labels.tsv."""
    return {r[0]: (r[1], None if r[2] == "-" else r[2]) for r in read_tsv("troitsk-labels.tsv")}


def troitsk(d=None, titles=False):
    """Appeals to the head of Troitsk with their hand labels (kind and
    category None where an appeal has none)."""
    labels = troitsk_labels()
    for r in _rows(os.path.join(data_dir(d), "troitsk-appeals-2017-2020.csv")):
        if hashlib.sha256(r["author"].encode()).hexdigest()[:12] == TROITSK_HEAD:
            continue
        rid = r[""]
        kind, category = labels.get("troitsk:" + rid, (None, None))
        if titles:
            yield {"id": "troitsk-title:" + rid, "source": "troitsk-title",
                   "text": r["title"], "kind": kind, "category": category}
        else:
            yield {"id": "troitsk:" + rid, "source": "troitsk", "text": r["text"],
                   "kind": kind, "category": category}


def vk_comments(d=None):
    """Residents' comments of the three VK communities (bodies' own left out
    where the file says who wrote; in 'pb' the labels mark the answers)."""
    d = data_dir(d)
    for r in _rows(os.path.join(d, "spb-central-admin-vk-wall-2019-2023.csv")):
        if int(r["ID автора"] or 0) > 0:
            yield {"id": "spbw:" + r["message_id"], "source": "spbw",
                   "text": r["Текст комментария"]}
    for r in _rows(os.path.join(d, "spb-central-admin-vk-2024.csv"), ";"):
        if r["type"] != "post" and int(float(r["from_id"] or 0)) > 0:
            yield {"id": "spb24:" + r["id"], "source": "spb24", "text": r["text"]}
    for r in _rows(os.path.join(d, "spb-pravoberezhny-mo-vk-2021-2024.csv"), ";"):
        if r["type"] != "post":
            yield {"id": "pb:" + r["id"], "source": "pb", "text": r["text"]}


def page_answers(d=None):
    """The pages' own comments in the VK community files: the bodies' real
    answers to residents (spbw: negative author id; spb24: negative from_id;
    pb: the rows vk-labels.tsv marks as answers)."""
    d = data_dir(d)
    for r in _rows(os.path.join(d, "spb-central-admin-vk-wall-2019-2023.csv")):
        if int(r["ID автора"] or 0) < 0:
            yield {"id": "spbw:" + r["message_id"], "source": "spbw",
                   "text": r["Текст комментария"]}
    for r in _rows(os.path.join(d, "spb-central-admin-vk-2024.csv"), ";"):
        if r["type"] != "post" and int(float(r["from_id"] or 0)) < 0:
            yield {"id": "spb24:" + r["id"], "source": "spb24", "text": r["text"]}
    answers = {k for k, v in vk_labels().items() if v[0] == "answer"}
    for r in _rows(os.path.join(d, "spb-pravoberezhny-mo-vk-2021-2024.csv"), ";"):
        if r["type"] != "post" and "pb:" + r["id"] in answers:
            yield {"id": "pb:" + r["id"], "source": "pb", "text": r["text"]}


def tweets(d=None):
    d = data_dir(d)
    for r in _rows(os.path.join(d, "rusentitweet.csv")):
        if r["label"] not in ("skip",):
            yield {"id": "tweet:" + r["id"], "source": "tweet", "text": r["text"]}
    for name, src in (("sentirueval-banks-tweets.csv", "bank"),
                      ("sentirueval-telecom-tweets.csv", "telecom")):
        for r in _rows(os.path.join(d, name)):
            yield {"id": src + ":" + r["id"], "source": src, "text": r["text"]}


def vk_labels():
    """id -> (kind, category or None); kinds 'answer' and 'skip' are kept so
    callers can leave those rows out."""
    out = {}
    for r in read_tsv("vk-labels.tsv"):
        out[r[0]] = (r[1], None if len(r) < 3 or r[2] == "-" else r[2])
    return out


def labelled_vk(d=None):
    """VK comments with their hand labels (answers and unreadable rows left out)."""
    labels = vk_labels()
    for r in vk_comments(d):
        lab = labels.get(r["id"])
        if lab and lab[0] in KINDS:
            r["kind"], r["category"] = lab
            yield r


def dedup(rows):
    """Rows with a text seen before (by norm_key) or empty are left out."""
    seen = set()
    for r in rows:
        k = norm_key(r["text"])
        if k and k not in seen:
            seen.add(k)
            yield r
