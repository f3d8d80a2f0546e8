package io.github.kscu.cert;

import java.time.Duration;

/** Where the agent looks for the serving certificate. Implementations are used by one thread. */
public interface CertSource extends AutoCloseable {
    /** Looks once, without blocking for long. */
    CertCheck check();

    /**
     * Blocks until something may have changed (a file event) or {@code max} has passed, whichever comes
     * first; a source without change events may return earlier, at its own probing pace. Spurious
     * returns are fine: the caller simply checks again.
     *
     * @return true when woken by a change notification, false when the time (or the pace) ran out
     */
    boolean awaitChange(Duration max) throws InterruptedException;

    @Override
    void close();
}
