package io.github.kscu.agent;

import io.github.kscu.config.Settings;
import io.github.kscu.kube.NodeApi;
import io.github.kscu.kube.RetryPolicy;
import io.github.kscu.report.Metrics;
import io.github.kscu.report.StateRecorder;
import java.time.Clock;
import java.time.Instant;
import java.util.random.RandomGenerator;

/**
 * What every part of one node's agent shares: the node, the API, time, the retry policy, the metrics, the
 * lifecycle state, the latest view of the node, the reporter and the wake-up signal. Handed to each part
 * whole, so a part's constructor names only what is its own (a certificate source, a policy); before it,
 * the same seven helpers were passed to every constructor one by one.
 */
final class NodeContext {
    private final String node;
    private final NodeApi api;
    private final Timing timing;
    private final RetryPolicy retry;
    private final Metrics metrics;
    private final Changes changes = new Changes();
    private final StateRecorder state;
    private final LatestNode latest;
    private final Reporter reporter;

    NodeContext(Settings settings, NodeApi api, Metrics metrics, Timing timing) {
        this.node = settings.nodeName();
        this.api = api;
        this.timing = timing;
        this.retry = new RetryPolicy(timing.random());
        this.metrics = metrics;
        this.state = new StateRecorder(node, metrics);
        this.latest = new LatestNode(node, settings.taints(), changes);
        this.reporter = new Reporter(this, settings.postsNodeEvents());
    }

    String node() {
        return node;
    }

    NodeApi api() {
        return api;
    }

    Clock clock() {
        return timing.clock();
    }

    Instant now() {
        return timing.clock().instant();
    }

    Sleeper sleeper() {
        return timing.sleeper();
    }

    RandomGenerator random() {
        return timing.random();
    }

    RetryPolicy retry() {
        return retry;
    }

    Metrics metrics() {
        return metrics;
    }

    /** The wake-up signal: bumped whenever the node view or the certificate verdict changes. */
    Changes changes() {
        return changes;
    }

    StateRecorder state() {
        return state;
    }

    /** The latest known state of the node, kept by {@link NodeTracker}. */
    LatestNode latest() {
        return latest;
    }

    Reporter reporter() {
        return reporter;
    }
}
