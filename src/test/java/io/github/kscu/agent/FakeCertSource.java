package io.github.kscu.agent;

import io.github.kscu.cert.CertCheck;
import io.github.kscu.cert.CertSource;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/** A certificate the test makes valid when it wants, waking the agent like an inotify event would. */
final class FakeCertSource implements CertSource {
    private final Semaphore changed = new Semaphore(0);
    private volatile CertCheck current = new CertCheck.NotYet(CertCheck.Problem.MISSING, "/fake.pem");

    static CertCheck valid() {
        Instant now = Instant.now();
        return new CertCheck.Valid("CN=system:node:n", now.minusSeconds(60), now.plusSeconds(86_400), null);
    }

    FakeCertSource makeValid() {
        set(valid());
        return this;
    }

    void set(CertCheck c) {
        current = c;
        changed.release();
    }

    @Override
    public CertCheck check() {
        return current;
    }

    @Override
    public boolean awaitChange(Duration max) throws InterruptedException {
        return changed.tryAcquire(max.toNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public void close() {
    }
}
