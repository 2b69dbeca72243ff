package linlens.format;

/** A model file that cannot be used: missing, corrupt, truncated, or of an unsupported kind. */
public class ModelFormatException extends RuntimeException {
    public ModelFormatException(String message) { super(message); }
    public ModelFormatException(String message, Throwable cause) { super(message, cause); }
}
