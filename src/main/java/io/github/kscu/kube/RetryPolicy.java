package io.github.kscu.kube;

import java.time.Duration;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * What to do after a failed request. Pure: the same failure, attempt and random draw give the same
 * decision, so the whole sequence is unit-tested without a server.
 *
 * <ul>
 *   <li>409/422 (our {@code test} precondition or an optimistic-lock conflict): another writer changed
 *   the taints; read again and retry at once. After a few in a row, back off: a persistent 422 is an
 *   admission rejection, not a race, and must not become a hot loop.</li>
 *   <li>429 and 5xx: honour {@code Retry-After}, else jittered exponential backoff.</li>
 *   <li>No response (refused, reset, timed out): the same backoff; the apiserver may be restarting.</li>
 *   <li>Anything else (401/403/404...): backoff as well, because the agent never gives up while it runs;
 *   RBAC being fixed or a Node being re-created are both things that end.</li>
 * </ul>
 *
 * <p>Backoff grows exponentially but never beyond a fifth of how long the requests have been failing
 * ({@link #OUTAGE_SHARE}), so after an outage of length T the next attempt comes at most T/5 (and at most
 * {@link #CAP}) after the apiserver is back. Pure exponential backoff was rejected: after a 20 s outage it
 * could wait another 13 s, for a node that only needs one PATCH. Over a long outage both converge on the
 * cap, so the request count differs by a few dozen per node at most.
 */
public final class RetryPolicy {
    public static final Duration BASE = Duration.ofMillis(200);
    public static final Duration CAP = Duration.ofSeconds(30);
    /** The backoff window is at most this share of the time spent failing (but at least {@link #OUTAGE_FLOOR}). */
    static final int OUTAGE_SHARE = 5;
    static final Duration OUTAGE_FLOOR = Duration.ofSeconds(1);
    static final int IMMEDIATE_CONFLICT_RETRIES = 3;
    /** Events are best effort: this many attempts at most. */
    public static final int EVENT_ATTEMPTS = 3;
    /** An Event reports something that just happened; waiting longer than this for one is pointless. */
    static final Duration EVENT_RETRY_CAP = Duration.ofSeconds(10);

    private final RandomGenerator random;

    public RetryPolicy(RandomGenerator random) {
        this.random = random;
    }

    /**
     * The decision after a failure.
     *
     * @param delay   how long to wait first (zero: at once)
     * @param refetch whether to read the node again before the next write
     */
    public record Decision(Duration delay, boolean refetch) {
        /**
         * The delay still to wait after an attempt that took {@code took}. A request that got no answer
         * (a timeout, a black hole) has already waited that long, so the backoff counts from its start;
         * an answer's {@code Retry-After} counts from the answer.
         */
        public Duration remaining(ApiFailure failure, Duration took) {
            if (failure.status() != ApiFailure.NO_RESPONSE) {
                return delay;
            }
            Duration left = delay.minus(took);
            return left.isNegative() ? Duration.ZERO : left;
        }
    }

    /**
     * @param attempt    how many failures in a row so far, counting this one (1 for the first)
     * @param failingFor how long requests have been failing, from the first failure of this run; null
     *                   for plain exponential backoff
     */
    public Decision afterFailure(ApiFailure failure, int attempt, Duration failingFor) {
        int status = failure.status();
        // Only a conflict says the node changed under us. After a 429, a 5xx or no answer the tracker's
        // watch still holds the latest node (and delivers our write if it went through); should it be
        // stale after all, the PATCH's test op fails with 422 and that one reads the node again. A GET
        // after every throttled write was 40 % of the node requests of 1000 nodes at once.
        boolean conflict = status == 409 || status == 422;
        if (conflict && attempt <= IMMEDIATE_CONFLICT_RETRIES) {
            return new Decision(Duration.ZERO, true);
        }
        // Retry-After is a minimum, not a schedule: a server that keeps throttling gets the growing backoff
        // once that is longer (capped by the outage share, so writes still come back within a fifth of
        // the time they have been failing). With Retry-After alone, 5000 agents throttled together offered
        // a steady 3300 writes a second to an apiserver admitting 57.
        Duration asked = retryAfter(failure);
        Duration backoff = backoff(attempt, failingFor);
        if (asked == null) {
            return new Decision(backoff, conflict);
        }
        Duration spread = spread(asked);
        return new Decision(atMost(spread.compareTo(backoff) >= 0 ? spread : backoff, CAP), conflict);
    }

    /**
     * Whether and when to post an Event again. Only failures that can pass are retried: 429, 5xx and
     * no response. A 403 or 422 will not pass by retrying, so the Event is dropped at once rather than
     * spending requests on it.
     *
     * @param attempt how many attempts failed so far, counting this one (1 for the first)
     * @return the delay before the next attempt, or empty to give up
     */
    public Optional<Duration> afterEventFailure(ApiFailure failure, int attempt) {
        int status = failure.status();
        if (!(status == ApiFailure.NO_RESPONSE || throttledOrServerError(status)) || attempt >= EVENT_ATTEMPTS) {
            return Optional.empty();
        }
        Duration asked = retryAfter(failure);
        Duration d = asked != null ? spread(asked) : backoff(attempt + 1);
        return Optional.of(atMost(d, EVENT_RETRY_CAP));
    }

    /**
     * At least what the server asked for, plus up to as much again: a burst of nodes throttled together
     * (the apiserver answers all of them "Retry-After: 1") must not come back together.
     */
    private Duration spread(Duration asked) {
        return asked.plusMillis(random.nextLong(asked.toMillis() + 1));
    }

    private static boolean throttledOrServerError(int status) {
        return status == 429 || status >= 500;
    }

    /** The server's Retry-After on a 429 or 5xx, never negative; null when there is none to honour. */
    private static Duration retryAfter(ApiFailure failure) {
        Duration d = failure.retryAfter();
        if (d == null || !throttledOrServerError(failure.status())) {
            return null;
        }
        return d.isNegative() ? Duration.ZERO : d;
    }

    private static Duration atMost(Duration d, Duration cap) {
        return d.compareTo(cap) > 0 ? cap : d;
    }

    /**
     * Equal-jitter exponential backoff: half the window fixed, half random. Full jitter could retry at
     * once after an outage; no jitter would make a thousand nodes retry in lockstep.
     */
    public Duration backoff(int attempt) {
        return backoff(attempt, null);
    }

    /** {@link #backoff(int)}, its window also capped by a share of {@code failingFor} (null: no such cap). */
    public Duration backoff(int attempt, Duration failingFor) {
        int exponent = Math.min(Math.max(attempt - 1, 0), 20);
        long window = Math.min(CAP.toMillis(), BASE.toMillis() << exponent);
        if (failingFor != null) {
            window = Math.min(window, Math.max(OUTAGE_FLOOR.toMillis(), failingFor.toMillis() / OUTAGE_SHARE));
        }
        long half = window / 2;
        return Duration.ofMillis(half + random.nextLong(half + 1));
    }
}
