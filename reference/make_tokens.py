"""Writes tokens.json: llama.cpp's token ids for a varied corpus (the Java tokenizer's reference).

Run with the reference venv:  /opt/linlens-ref/bin/python reference/make_tokens.py
"""
from common import (FIXTURE_DIR, check_model, load_llama, tokenize, versions, write_json)

CORPUS = [
    # plain English
    "The bridge out of Marin is the",
    "The Golden",
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "Equivalent linear mappings of large language models.",
    "I can't believe it's not butter; they're sure it isn't.",
    "Mr. O'Neil's well-known self-driving car doesn't work.",
    "ALL CAPS SENTENCE WITH SHOUTING",
    "camelCaseIdentifier and snake_case_identifier and kebab-case-identifier",
    # whitespace
    "",
    " ",
    "  ",
    "   leading spaces",
    "trailing spaces   ",
    "multiple     spaces     inside",
    "\n",
    "line one\nline two\n\nline four",
    "\n\n\n",
    "tab\tseparated\tvalues",
    "\t\tindented with tabs",
    "mixed \t \n whitespace \r\n windows line end",
    " Hello",
    "Hello ",
    # digits and numbers
    "0",
    "42",
    "1234567890",
    "3.14159265358979323846264338327950288419716939937510",
    "The year 2025 had 365 days and 8760 hours.",
    "-17.5e-3 +0x1F 1,000,000 1_000_000",
    "999999999999999999999999999999",
    # punctuation runs
    "!!!???...",
    "...",
    "---===+++***",
    "(((nested))) [[brackets]] {{braces}}",
    "\"quoted\" 'single' `backtick` «guillemets» “curly”",
    "@#$%^&*()_+-=[]{}|;':\",./<>?",
    # code
    "def f(x):\n    return x * 2\n",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "public static void main(String[] args) {\n\tSystem.out.println(\"hi\");\n}",
    "<html><body><div class=\"x\">Hi</div></body></html>",
    "SELECT * FROM users WHERE id = 42;",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
    # URLs / paths / emails
    "https://www.example.com/path/to/page?query=1&x=y#frag",
    "/usr/local/bin/python3 --version",
    "C:\\Windows\\System32\\drivers\\etc\\hosts",
    "contact me at someone@example.org",
    # emoji
    "I love pizza 🍕🍕🍕",
    "👨‍👩‍👧‍👦 family emoji with ZWJ",
    "🇺🇸🇯🇵 flags",
    "😀",
    # CJK
    "你好，世界！",
    "日本語のテキストです。",
    "한국어 문장입니다.",
    "機械学習と自然言語処理",
    # Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai
    "Привет, как дела?",
    "Съешь же ещё этих мягких французских булок",
    "Γειά σου Κόσμε",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    # accented Latin
    "café naïve résumé façade",
    "Ærøskøbing Straße Œuvre ñandú",
    "Zażółć gęślą jaźń",
    "e\u0301 combining acute vs é precomposed",
    # rare unicode / byte fallback
    "\U0001D54F\U0001D552\U0001D55D",
    "\u2603\u2604\u2605 \u2211\u222b\u221e",
    "\U00010348 gothic hwair",
    "\U0001F9EC\U0001FAE0",
    "\u0000nul and \u0007 bell",
    "\ufeffBOM at start",
    "private use \ue000\uf8ff",
    "ancient \U00013000 hieroglyph",
    # special tokens inline
    "<start_of_turn>user\nhi<end_of_turn>",
    "<start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n<start_of_turn>model\n",
    "<bos>text after an explicit bos",
    "<eos>",
    "<pad><unk><mask>",
    "text <end_of_turn> in the middle",
    "<start_of_image> image marker",
    "<not_a_special_token>",
    # long words
    "Pneumonoultramicroscopicsilicovolcanoconiosis",
    "Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft",
    "supercalifragilisticexpialidocious" * 3,
    "a" * 64,
    "ab" * 40,
    "xyzzyplughfoobarbazqux",
    # mixed
    "Mixed: English, Русский, 中文, العربية, 123, 🎉!",
    "Question: What is 2 + 2?\nAnswer: 4",
]


def main():
    sha = check_model()
    llm = load_llama(vocab_only=True)
    vers = versions()
    cases = [{"text": t, "ids": tokenize(llm, t)} for t in CORPUS]
    assert len({c["text"] for c in cases}) == len(cases), "duplicate corpus entries"
    out = {
        "tool": f"llama-cpp-python {vers.get('llama-cpp-python')} (Llama(vocab_only=True).tokenize)",
        "versions": vers,
        "model": "gemma-3-270m.gguf",
        "model_sha256": sha,
        "add_bos": True,
        "parse_special": True,
        "cases": cases,
    }
    path = FIXTURE_DIR / "tokens.json"
    write_json(path, out)
    print(f"wrote {path}: {len(cases)} cases")


if __name__ == "__main__":
    main()
