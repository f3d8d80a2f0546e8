package io.github.kscu.kube;

import java.time.Duration;

/**
 * A request that did not succeed.
 *
 * @see RetryPolicy for what happens next
 */
public final class ApiFailure extends Exception {
    /** Status used for failures without an HTTP answer: refused, reset, timed out. */
    public static final int NO_RESPONSE = 0;

    private final int status;
    private final transient Duration retryAfter;

    public ApiFailure(int status, Duration retryAfter, String message) {
        super(message, null, false, false);
        this.status = status;
        this.retryAfter = retryAfter;
    }

    public static ApiFailure noResponse(String message) {
        return new ApiFailure(NO_RESPONSE, null, message);
    }

    public int status() {
        return status;
    }

    /** The server's {@code Retry-After}, or {@code null}. */
    public Duration retryAfter() {
        return retryAfter;
    }

    /** {@code 409}, {@code 503}, or {@code no-response} for logs and metrics. */
    public String code() {
        return status == NO_RESPONSE ? "no-response" : Integer.toString(status);
    }
}
