package io.github.kscu.agent;

import java.time.Duration;

/**
 * The pace of looks at the certificate once a spell's timeout is reported, as a pure function.
 * Waiting is then long-term (a cluster that never approves serving CSRs waits for ever), and the
 * kubelet source, which probes every 50 ms, would cost a steady 1–2 % of a core on every such node. The
 * pace slows with how long the certificate is overdue (a sixtieth of it), so a certificate that comes
 * soon after the timeout is still seen quickly, and one that comes a minute or more late within a second.
 */
final class CertPace {
    /** The slowest pace once a spell's timeout is reported. */
    static final Duration AFTER_TIMEOUT = Duration.ofSeconds(1);

    private CertPace() {
    }

    /** The pace {@code overdue} after a timeout: a sixtieth of that, at least the source's, at most 1 s. */
    static Duration slowed(Duration pace, Duration overdue) {
        Duration slowed = overdue.dividedBy(60);
        if (slowed.compareTo(AFTER_TIMEOUT) > 0) {
            slowed = AFTER_TIMEOUT;
        }
        return pace.compareTo(slowed) < 0 ? slowed : pace;
    }
}
