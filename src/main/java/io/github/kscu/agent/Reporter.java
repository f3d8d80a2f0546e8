package io.github.kscu.agent;

import io.github.kscu.config.Settings;
import io.github.kscu.kube.ApiFailure;
import io.github.kscu.kube.NodeApi.NodeEvent;
import io.github.kscu.kube.RetryPolicy;
import io.github.kscu.log.Fields;
import io.github.kscu.report.Reason;
import java.time.Duration;
import java.util.Optional;
import org.tinylog.Logger;
import org.tinylog.TaggedLogger;

/**
 * One outcome, reported three ways under the same {@link Reason}: a log line, a metric and an Event on
 * the Node. Events are best effort and posted on their own virtual thread, so a slow or throttled
 * apiserver never delays the taint removal; only failures that can pass (429, 5xx, no response) are
 * retried, a few times ({@link RetryPolicy#afterEventFailure}).
 *
 * <p>An outcome that the normal bootstrap always has and that another Event already tells
 * ({@code ServingCertificateReady}, whose certificate the {@code StartupTaintRemoved} note names) is
 * only logged and counted ({@link #record}): an Event is a write on the apiserver, and a fleet that
 * boots together makes thousands at once. It is posted ({@link #post}) when it says something the
 * others do not, such as a removal that waits on Karpenter after the certificate is ready.
 */
final class Reporter {
    private static final TaggedLogger LOG = Logger.tag("agent");
    /** The certificate can be valid before the node was first read: wait this long for its uid. */
    private static final Duration UID_WAIT = Duration.ofSeconds(10);

    private final NodeContext ctx;
    private final String node;
    /** False where the apiserver refuses Events about a Node (see {@link Settings#postsNodeEvents()}). */
    private final boolean posts;
    private volatile boolean closed;

    /** Built by the {@link NodeContext} it belongs to, which it reads only once its fields are set. */
    Reporter(NodeContext ctx, boolean posts) {
        this.ctx = ctx;
        this.node = ctx.node();
        this.posts = posts;
    }

    /** Logs, counts and posts as an Event. */
    void report(Reason reason, String note) {
        record(reason, note);
        post(reason, note);
    }

    /** Logs and counts, without an Event. */
    void record(Reason reason, String note) {
        ctx.metrics().outcome(reason);
        if ("Warning".equals(reason.eventType())) {
            LOG.warn("{} node={} reason={}", note, node, reason);
        } else {
            LOG.info("{} node={} reason={}", note, node, reason);
        }
    }

    /** Posts an Event, in the background, for an outcome already {@link #record recorded}. */
    void post(Reason reason, String note) {
        if (!posts) {
            return; // said once at start: the log and the metrics carry every outcome
        }
        Thread.ofVirtual().name("event-" + node).start(() -> {
            try {
                send(reason, note);
            } catch (RuntimeException e) {
                // Best effort, like every Event: a bug or an odd answer loses this Event, never the agent.
                LOG.warn("could not record Event node={} reason={} code=unexpected error={}", node, reason,
                        Fields.quote(String.valueOf(e)));
            }
        });
    }

    /** No more retries: Events still in flight give up after their current attempt. */
    void close() {
        closed = true;
    }

    private void send(Reason reason, String note) {
        NodeEvent event = new NodeEvent(node, nodeUid(), reason.eventType(), reason.value(), reason.action(), note);
        for (int attempt = 1; ; attempt++) {
            try {
                ctx.api().createEvent(event);
                return;
            } catch (ApiFailure f) {
                Optional<Duration> again = closed ? Optional.empty() : ctx.retry().afterEventFailure(f, attempt);
                if (again.isEmpty()) {
                    LOG.warn("could not record Event node={} reason={} code={} error={}", node, event.reason(),
                            f.code(), Fields.quote(f.getMessage()));
                    return;
                }
                try {
                    ctx.sleeper().sleep(again.get());
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    /** The Node's uid links the Event to it in {@code kubectl describe node}; null if it is not known soon. */
    private String nodeUid() {
        long deadline = System.nanoTime() + UID_WAIT.toNanos();
        long seen = ctx.changes().version();
        NodeView view = ctx.latest().get();
        while (view == null && System.nanoTime() < deadline && !closed) {
            try {
                seen = ctx.changes().await(seen, Duration.ofNanos(deadline - System.nanoTime()));
            } catch (InterruptedException e) {
                return null;
            }
            view = ctx.latest().get();
        }
        return view == null ? null : view.node().uid();
    }
}
