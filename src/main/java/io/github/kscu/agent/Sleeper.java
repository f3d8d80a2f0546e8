package io.github.kscu.agent;

import java.time.Duration;

/** Waiting, made replaceable so retry sequences are tested without real time passing. */
@FunctionalInterface
public interface Sleeper {
    Sleeper REAL = d -> {
        if (d.isPositive()) {
            Thread.sleep(d);
        }
    };

    void sleep(Duration d) throws InterruptedException;
}
