package linlens.concepts;

import linlens.model.InputException;

/** A concept that cannot be read, made or used: an unknown name, a bad file, a word that is no token. Bad input (exit 2). */
public final class ConceptException extends InputException {
    public ConceptException(String message) { super(message); }
}
