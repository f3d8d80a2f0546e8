package io.github.kscu.agent;

import java.time.Clock;
import java.util.random.RandomGenerator;

/**
 * Time and chance as the agent sees them, made replaceable so retry sequences are tested without real
 * time passing and with a seeded random.
 */
public record Timing(Clock clock, Sleeper sleeper, RandomGenerator random) {
    /** The wall clock, real sleeps and the default random. */
    public static Timing real() {
        return new Timing(Clock.systemUTC(), Sleeper.REAL, RandomGenerator.getDefault());
    }
}
