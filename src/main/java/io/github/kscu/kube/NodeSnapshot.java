package io.github.kscu.kube;

import io.github.kscu.taint.Taint;
import java.util.List;

/**
 * The parts of a Node the agent needs, as of one resourceVersion.
 *
 * @param certCondition the agent's own condition ({@link NodeCondition#CERT_TYPE}) in status, or {@code null}
 * @param taintWriters the field managers that own {@code spec.taints} (from {@code managedFields}), so a
 *                     taint that keeps coming back can be blamed on whoever writes it
 */
public record NodeSnapshot(String name, String uid, String resourceVersion, List<Taint> taints,
        List<FieldWriter> taintWriters, NodeCondition certCondition) {
    public NodeSnapshot {
        taints = List.copyOf(taints);
        taintWriters = List.copyOf(taintWriters);
    }

    /**
     * One {@code managedFields} entry.
     *
     * @param operation {@code Update} or {@code Apply}
     * @param time      when it last wrote, as the server recorded it (may be null)
     */
    public record FieldWriter(String manager, String operation, String time) {
        @Override
        public String toString() {
            return manager + " (" + operation + (time == null ? "" : " at " + time) + ")";
        }
    }

    /** Who else writes {@code spec.taints}: the most recent writer that is not {@code us}, if any. */
    public FieldWriter otherTaintWriter(String us) {
        FieldWriter best = null;
        for (FieldWriter w : taintWriters) {
            if (!us.equals(w.manager()) && (best == null || String.valueOf(w.time()).compareTo(String.valueOf(best.time())) > 0)) {
                best = w;
            }
        }
        return best;
    }
}
