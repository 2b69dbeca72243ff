package linlens.format;

/** A model file that cannot be used: missing, corrupt, truncated, or of an unsupported kind. */
public class ModelFormatException extends RuntimeException {
    public ModelFormatException(String message) { super(oneLine(message)); }
    public ModelFormatException(String message, Throwable cause) { super(oneLine(message), cause); }

    /** The message is shown as one line: line breaks and other control characters a file smuggled in are escaped. */
    private static String oneLine(String message) {
        if (message == null || message.chars().noneMatch(Character::isISOControl)) return message;
        StringBuilder sb = new StringBuilder(message.length());
        for (char ch : message.toCharArray())
            if (Character.isISOControl(ch)) sb.append(String.format("\\u%04x", (int) ch));
            else sb.append(ch);
        return sb.toString();
    }
}
