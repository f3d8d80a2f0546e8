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
    private final java.util.concurrent.atomic.AtomicInteger checks = new java.util.concurrent.atomic.AtomicInteger();
    /** Thrown by the next checks, then by every wait for a change: a source with a bug. */
    private volatile RuntimeException checkThrows;
    private final java.util.concurrent.atomic.AtomicInteger throwingChecks = new java.util.concurrent.atomic.AtomicInteger();
    private volatile RuntimeException awaitThrows;
    /** Like the kubelet source: its own pace, whatever cert-check-interval says; null: that interval. */
    private volatile Duration pace;

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

    FakeCertSource pace(Duration d) {
        pace = d;
        return this;
    }

    FakeCertSource throwOnChecks(int times, RuntimeException e) {
        throwingChecks.set(times);
        checkThrows = e;
        return this;
    }

    FakeCertSource throwOnAwait(RuntimeException e) {
        awaitThrows = e;
        return this;
    }

    int checks() {
        return checks.get();
    }

    @Override
    public CertCheck check() {
        checks.incrementAndGet();
        if (throwingChecks.getAndDecrement() > 0) {
            throw checkThrows;
        }
        return current;
    }

    @Override
    public Duration pollInterval(Duration configured) {
        return pace == null ? configured : pace;
    }

    @Override
    public boolean awaitChange(Duration max) throws InterruptedException {
        if (awaitThrows != null) {
            throw awaitThrows;
        }
        return changed.tryAcquire(max.toNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public void close() {
    }
}
