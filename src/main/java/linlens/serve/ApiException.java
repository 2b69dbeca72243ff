package linlens.serve;

/** A request the server refuses: the HTTP status and a one-line message for the page. */
final class ApiException extends RuntimeException {
    final int status;

    ApiException(int status, String message) {
        super(message);
        this.status = status;
    }
}
