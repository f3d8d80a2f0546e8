package io.github.kscu.report;

import org.tinylog.Logger;
import org.tinylog.TaggedLogger;

/** The agent's current {@link State}: one field, its metric and a debug line, changed together. */
public final class StateRecorder {
    private static final TaggedLogger LOG = Logger.tag("agent");

    private final String node;
    private final Metrics metrics;
    private volatile State state;

    public StateRecorder(String node, Metrics metrics) {
        this.node = node;
        this.metrics = metrics;
        set(State.STARTING);
    }

    public State get() {
        return state;
    }

    public void set(State next) {
        if (state != next) {
            LOG.debug("state node={} state={}", node, next.label());
            state = next;
            metrics.state(next);
        }
    }
}
