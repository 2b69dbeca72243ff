package linlens.serve;

/**
 * A request the server refuses: the HTTP status and a one-line message for the page. Public so
 * that callers of {@link JobRequest#parse} (a fuzz target) can tell a refusal from a failure.
 */
public final class ApiException extends RuntimeException {
    final int status;
    /** For 405: the methods the resource takes (the Allow header). */
    final String allow;

    public ApiException(int status, String message) {
        this(status, message, null);
    }

    ApiException(int status, String message, String allow) {
        super(message, null, false, false); // a refusal, not a failure: no stack trace to fill
        this.status = status;
        this.allow = allow;
    }

    public int status() { return status; }
}
