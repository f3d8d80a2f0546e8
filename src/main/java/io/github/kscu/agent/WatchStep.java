package io.github.kscu.agent;

import java.time.Duration;

/**
 * What {@link NodeTracker} does after a watch ends or fails, as pure functions: the loop around them only
 * watches, reads and sleeps. Two questions, asked in turn: does the watch simply start again, and if not,
 * how long to back off and whether to read the node with a GET first.
 */
final class WatchStep {
    /** How a watch ended. */
    enum Ended {
        /** It ran its course, or showed the node: it worked. */
        WATCHED,
        /** Well before its timeout, without a single event: a proxy or apiserver that cuts it at once. */
        ENDED_EARLY,
        /** 410 Gone: its resourceVersion is too old to resume from. */
        GONE,
        /** 404: the node is not there (a wrong NODE_NAME, not registered yet). */
        NOT_FOUND,
        /** Any other failure: 403, 429, 5xx, no response. */
        FAILED,
        /** An answer that did not parse. */
        BAD_ANSWER
    }

    /** What follows a watch. */
    enum Next {
        /** Watch again from where this one stopped; the failure count starts over. */
        WATCH,
        /** Watch again from the node as it is now (no resourceVersion), at once; not a failure. */
        WATCH_AFRESH,
        /** A failure: back off first ({@link #backOff}). */
        BACK_OFF,
        /** A failure that says the view may be wrong: back off, then GET the node before watching. */
        BACK_OFF_AND_GET
    }

    /** After a backoff: how long to wait, and whether to GET the node before the next watch. */
    record BackOff(Duration delay, boolean get) {
    }

    private WatchStep() {
    }

    static Next after(Ended how) {
        return switch (how) {
            case WATCHED -> Next.WATCH;
            case GONE -> Next.WATCH_AFRESH;
            case ENDED_EARLY, FAILED -> Next.BACK_OFF;
            // A 404 or a malformed answer: start over from a GET.
            case NOT_FOUND, BAD_ANSWER -> Next.BACK_OFF_AND_GET;
        };
    }

    /**
     * Never blind: once the backoff would reach past the time a GET is due ({@code untilGet}, counted from
     * the last GET plus {@link NodeTracker#RELIST_WHILE_FAILING}), the next attempt reads the node afresh,
     * and no later than that GET is due. Before any GET ({@code everGot} false: the first watch failed)
     * that read waits for this failure's own backoff, so a 429 on a fleet's first watches is not answered
     * at once by as many GETs.
     *
     * @param get     true when a GET is asked for: by this failure ({@link Next#BACK_OFF_AND_GET}), or
     *                still, because the last one failed
     * @param backoff this failure's backoff under the retry policy
     */
    static BackOff backOff(boolean get, Duration backoff, Duration untilGet, boolean everGot) {
        if (backoff.compareTo(untilGet) < 0) {
            return new BackOff(backoff, get);
        }
        return new BackOff(everGot ? (untilGet.isNegative() ? Duration.ZERO : untilGet) : backoff, true);
    }
}
