package linlens.model;

/** A request that cannot be served as given (empty or too long prompt, bad option value...). */
public class InputException extends RuntimeException {
    public InputException(String message) { super(message); }
}
