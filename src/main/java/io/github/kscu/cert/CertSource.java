package io.github.kscu.cert;

import java.time.Duration;

/** Where the agent looks for the serving certificate. Implementations are used by one thread. */
public interface CertSource extends AutoCloseable {
    /** Looks once, without blocking for long. */
    CertCheck check();

    /**
     * Blocks until something may have changed (a file event) or {@code max} has passed, whichever comes
     * first. Spurious returns are fine: the caller simply checks again.
     *
     * @return true when woken by a change notification, false when the time ran out
     */
    boolean awaitChange(Duration max) throws InterruptedException;

    /**
     * How often to look while no valid certificate is there, given the configured poll interval: a
     * source with change events only needs it as a safety net; one without sets its own pace.
     */
    default Duration pollInterval(Duration configured) {
        return configured;
    }

    @Override
    void close();
}
