package io.github.kscu.cert;

import java.time.Duration;

/** Where the agent looks for the serving certificate. Implementations are used by one thread. */
public interface CertSource extends AutoCloseable {
    /** Looks once, without blocking for long. */
    CertCheck check();

    /**
     * Blocks until something may have changed (a file event) or {@code max} has passed, whichever comes
     * first. Spurious returns are fine: the caller simply checks again.
     */
    void awaitChange(Duration max) throws InterruptedException;

    @Override
    void close();
}
