package io.github.kscu.kube;

import io.github.kscu.taint.Taint;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/** The agent's whole API surface: one Node, read, patched and watched, plus Events about it. */
public interface NodeApi {
    NodeSnapshot get(String node) throws ApiFailure;

    /**
     * Replaces {@code spec.taints} with {@code desired}, only if they still equal {@code expected}
     * (JSON Patch {@code test} then {@code replace}). Returns the node as the server stored it.
     */
    NodeSnapshot patchTaints(String node, List<Taint> expected, List<Taint> desired) throws ApiFailure;

    /**
     * Sets the node's condition of {@code condition.type()} in {@code nodes/status}, touching no other
     * condition or field (a strategic merge patch, keyed by the condition's type). Returns the node as the
     * server stored it.
     */
    NodeSnapshot patchCondition(String node, NodeCondition condition) throws ApiFailure;

    /**
     * Watches the node from {@code resourceVersion} until the server ends the watch after about
     * {@code timeout}, passing every new state to {@code onChange}. Returns the last resourceVersion seen
     * ({@code null} if none was). With a {@code null} resourceVersion the first state passed is the node as
     * it is now, if it exists. A {@code 410 Gone} arrives as an {@link ApiFailure}: watch again without one.
     * {@code opened} runs once the server has accepted the watch (its answer's headers), before any state.
     */
    String watch(String node, String resourceVersion, Duration timeout, Runnable opened,
            Consumer<NodeSnapshot> onChange) throws ApiFailure, InterruptedException;

    /**
     * Asks the apiserver for a change the admission policy must refuse, as a dry run ({@code dryRun=All}:
     * nothing is stored): a label on the node or, with {@code status}, a condition of a type not the
     * agent's in {@code nodes/status}. Returns the refusal (403) with its message, or empty when the change
     * was allowed. Any other failure is thrown.
     */
    Optional<String> dryRunForbiddenChange(String node, boolean status) throws ApiFailure;

    /** Records an Event about the node. */
    void createEvent(NodeEvent event) throws ApiFailure;

    /** An Event regarding a Node. */
    record NodeEvent(String node, String nodeUid, String type, String reason, String action, String note) {
    }
}
