/**
 * Tokenizers that give the same token ids as llama.cpp for a GGUF model.
 *
 * <p>{@link linlens.tokenizer.Tokenizer#fromGguf} picks the algorithm from
 * {@code tokenizer.ggml.model}; {@code "llama"} (SentencePiece BPE with scores, e.g. Gemma 3) is
 * {@link linlens.tokenizer.SpmTokenizer}. Other kinds (such as {@code "gpt2"} byte-level BPE) are
 * refused with a {@link linlens.format.ModelFormatException}; a new kind is one more
 * {@code Tokenizer} implementation over the shared {@link linlens.tokenizer.Vocabulary} and
 * special-token splitter, plus a case in the factory.
 *
 * <p>Untrusted input: GGUF tokenizer metadata is checked against the token list (array lengths,
 * special ids, merges, NaN scores) and refused with the file and key named. A Hugging Face
 * {@code tokenizer.json} is checked in Java by {@link linlens.tokenizer.TokenizerJsonValidator}
 * and then tried in a child JVM by {@link linlens.tokenizer.TokenizerProbe} before the native
 * tokenizers library loads it here, since that library aborts the JVM on some malformed files.
 *
 * <p>{@link linlens.tokenizer.ChatTemplate} renders a model's Jinja chat template (GGUF
 * {@code tokenizer.chat_template}, or a Hugging Face folder's) as transformers does, in a sandbox:
 * the template is hostile input like the rest of the file.
 *
 * <p>Known differences from llama.cpp: the LSTRIP/RSTRIP special-token attributes that llama.cpp
 * sets for a few models by name are not applied; decoding shows control tokens by name and a
 * literal U+2581 in the input decodes as a space (it is the same token).
 */
package linlens.tokenizer;
