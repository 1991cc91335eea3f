#!/usr/bin/python3
"""The trained model of classify_ru through `appealsd classify` and the
configuration check: its evidence names the features that weighed most, a
broken model file is refused with its file, line and reason, the feature
vector the trainer learns from is the one the plugin scores, and -- where
shared/data is beside the repository -- the shipped model is the one
tools/classify_train builds from the data, bit for bit, and meets its
recorded figures on the held-out real texts.  Needs no Redis or Kafka."""

import json
import os
import subprocess
import sys
import tempfile

import apd
from apd import h

CONFIG = str(apd.EXAMPLE_CONFIG)
MODEL = apd.REPO / "config" / "classifier" / "ru-model.txt"
DATA = apd.REPO.parent / "shared" / "data" / "appeals-train"


def plugin_dir():
    return "daemon.plugin_dir=%s" % (h.build_dir() / "plugins")


def with_model():
    return "classifier.ru.model=%s" % MODEL


def classify(texts, *args):
    cmd = [str(h.daemon_binary()), "classify", "-c", CONFIG, "--set", plugin_dir(),
           "--set", with_model()] + list(args)
    feed = "".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n"
                   for i, t in enumerate(texts))
    p = subprocess.run(cmd, input=feed.encode(), capture_output=True, timeout=120)
    return p.returncode, [json.loads(l) for l in p.stdout.decode().split("\n") if l], \
        p.stderr.decode()


def test_model_decides_and_names_its_features():
    rc, out, err = classify(["Во дворе дома 12 третью неделю не вывозят мусор, контейнеры "
                             "переполнены", "Спасибо за праздник, было здорово!"])
    assert rc == 0, err
    appeal, thanks = out
    assert appeal["is_appeal"] and appeal["category"] == "waste", appeal
    assert not thanks["is_appeal"], thanks
    model_ev = [e for e in appeal["evidence"] if e.get("rule", "").startswith("model")]
    assert model_ev, appeal["evidence"]
    # a word feature points at the words of the text it came from
    words = [e for e in model_ev if e.get("term")]
    assert words and all(e["weight"] > 0 and e["text"] for e in words), model_ev
    assert any(e["field"] == "category" and e["value"] == "waste" for e in model_ev), model_ev


def test_without_a_model_the_lexicons_decide():
    rc, out, err = classify(["Яма на дороге"], "--set", "classifier.ru.model=")
    assert rc == 0, err
    assert not any(e.get("rule", "").startswith("model") for e in out[0]["evidence"]), out


def check_config(model_path):
    cmd = [str(h.daemon_binary()), "--check-config", "-c", CONFIG, "--set", plugin_dir(),
           "--set", "classifier.ru.model=%s" % model_path]
    p = subprocess.run(cmd, capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode() + p.stderr.decode()


def test_broken_model_is_refused_with_file_line_and_reason():
    good = MODEL.read_text().split("\n")
    cases = {
        "not-a-model": (["hello"], ":1: not an appealsd model"),
        "bad-version": ([good[0], "features 9 262144"] + good[2:], ":2: features: this plugin"),
        "truncated": (good[:len(good) // 2], "the file ends after fewer"),
        "bad-head": ([good[0], "head mood happy"], ":2: unknown head 'mood'"),
    }
    with tempfile.TemporaryDirectory() as d:
        for name, (lines, want) in cases.items():
            path = os.path.join(d, name + ".txt")
            with open(path, "w") as f:
                f.write("\n".join(lines) + "\n")
            rc, text = check_config(path)
            assert rc != 0 and path in text and want in text, (name, rc, text)
        rc, text = check_config(os.path.join(d, "missing.txt"))
        assert rc != 0 and "missing.txt: cannot open" in text, text
    rc, text = check_config(str(MODEL))
    assert rc == 0, text


def test_features_are_what_the_model_scores():
    rc, out, err = classify(["Когда починят фонарь у остановки?"], "--features")
    assert rc == 0, err
    f = out[0]
    assert f["model_by"] == "ru" and f["feature_space"] == 1 << 18, f
    idx = [i for i, _ in f["features"]]
    assert idx == sorted(set(idx)) and all(0 <= i < 1 << 18 for i in idx), idx
    assert len(idx) > 20, idx
    # the same text twice gives the same vector (the word cache changes nothing)
    rc, again, _ = classify(["Когда починят фонарь у остановки?"] * 2, "--features")
    assert again[0]["features"] == again[1]["features"] == f["features"]


def test_a_reply_to_the_page_is_not_a_reply_to_a_neighbour():
    """Regression: "[club1|Район], ..." (a resident answering the page: on the
    real pages three in four are appeals) had the same feature as "[id1|Анна],
    ..." (answering a neighbour: three in four are arguments), so the model
    could not tell them apart."""
    body = "у нас во дворе тоже не горит фонарь"
    rc, out, err = classify(["[id1|Анна], " + body, "[club1|Администрация района], " + body,
                             "[public1|Район], " + body, body], "--features")
    assert rc == 0, err
    person, club, public, plain = [{i for i, _ in o["features"]} for o in out]
    # both replies carry the host's mention signal; each adds one feature of its own
    assert len(person - plain) == 2 and len(club - plain) == 2, (person - plain, club - plain)
    assert person - club and club - person, (person - plain, club - plain)
    assert club == public, club ^ public


def test_masked_mentions_weigh_as_the_markup_they_replace():
    """Regression: the sources replace mention markup by a mask (no name, no
    id) before the daemon classifies; the mask read as a word, so the model
    saw texts unlike the ones it was trained on and lost the reply signals."""
    body = "у нас во дворе тоже не горит фонарь"
    rc, out, err = classify(["[id1|Анна], " + body, "[упоминание], " + body,
                             "[club1|Район], " + body, "[сообщество], " + body,
                             "и у " + "[id7|Ивана] " + body, "и у [упоминание] " + body],
                            "--features")
    assert rc == 0, err
    person, pmask, club, cmask, inner, imask = [o["features"] for o in out]
    assert person == pmask, (person, pmask)
    assert club == cmask, (club, cmask)
    assert inner == imask, (inner, imask)


def load_trainer():
    import importlib.machinery
    import importlib.util
    path = str(apd.REPO / "tools" / "classify_train")
    loader = importlib.machinery.SourceFileLoader("classify_train", path)
    spec = importlib.util.spec_from_loader("classify_train", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def test_a_class_with_no_training_text_is_never_chosen():
    """Regression: liblinear leaves out a class nobody wrote about; its score
    once read as 0 and beat every negative score, so texts went to it."""
    ct = load_trainer()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.model")
        with open(path, "w") as f:
            f.write("solver_type L2R_LR\nnr_class 2\nlabel 2 0\nnr_feature 2\nbias 1\nw\n"
                    "0.5\n-0.25\n-1\n")
        w, bias = ct.read_liblinear(path, ("a", "b", "c"))
    assert bias == [1.0, ct.ABSENT, -1.0], bias
    assert w == {0: [-0.5, 0.0, 0.5], 1: [0.25, 0.0, -0.25]}, w
    assert max(range(3), key=ct.scores((w, bias), [(0, 1.0)], 3).__getitem__) != 1


def test_shipped_model_is_what_the_tool_builds():
    if not DATA.is_dir():
        print("# SKIP: no shared/data beside the repository")
        return
    cmd = ["/usr/bin/python3", str(apd.REPO / "tools" / "classify_train"), "--check",
           "--appealsd", str(h.daemon_binary()), "--plugin-dir",
           str(h.build_dir() / "plugins"), "--data", str(DATA)]
    p = subprocess.run(cmd, capture_output=True, timeout=1200)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()[-3000:]


def test_real_held_out_texts_meet_the_recorded_figures():
    """The figures of bench/README.md on the held-out real texts, as a floor
    a change of lexicons or labels must not go below unnoticed."""
    if not DATA.is_dir():
        print("# SKIP: no shared/data beside the repository")
        return
    cmd = [sys.executable, str(apd.REPO / "tools" / "classify_eval.py"), "--real", str(DATA),
           "-c", CONFIG, "--appealsd", str(h.daemon_binary()), "--set", plugin_dir(),
           "--set", with_model(), "--json",
           "--min-appeal-recall", "0.94", "--min-category-accuracy", "0.60"]
    p = subprocess.run(cmd, capture_output=True, timeout=600)
    text = p.stdout.decode()
    print("".join("# " + l + "\n" for l in text.split("\n") if l and not l.startswith((" ", "{", "}"))))
    assert p.returncode == 0, text + p.stderr.decode()[-2000:]


if __name__ == "__main__":
    h.main(globals())
