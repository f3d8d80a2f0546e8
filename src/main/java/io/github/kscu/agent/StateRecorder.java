package io.github.kscu.agent;

import io.github.kscu.health.Metrics;
import io.github.kscu.health.State;
import org.tinylog.Logger;
import org.tinylog.TaggedLogger;

/** The agent's current {@link State}: one field, its metric and a debug line, changed together. */
final class StateRecorder {
    private static final TaggedLogger LOG = Logger.tag("agent");

    private final String node;
    private final Metrics metrics;
    private volatile State state;

    StateRecorder(String node, Metrics metrics) {
        this.node = node;
        this.metrics = metrics;
        set(State.STARTING);
    }

    State get() {
        return state;
    }

    void set(State next) {
        if (state != next) {
            LOG.debug("state node={} state={}", node, next.label());
            state = next;
            metrics.state(next);
        }
    }
}
