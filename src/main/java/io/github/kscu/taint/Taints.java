package io.github.kscu.taint;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/** Pure decisions about a node's taints. Nothing here talks to the API. */
public final class Taints {
    /**
     * Karpenter re-writes a NodePool's {@code startupTaints} in the same patch that removes this taint
     * (kubernetes-sigs/karpenter#1772). Removing ours before that would be undone, so we wait for it.
     */
    public static final String KARPENTER_UNREGISTERED = "karpenter.sh/unregistered";

    private Taints() {
    }

    /**
     * What to do with a node's taints.
     *
     * @param remaining the taints to keep, in their original order
     * @param toRemove  the configured taints found on the node
     * @param gated     true when ours are present but Karpenter has not registered the node yet
     */
    public record Plan(List<Taint> remaining, List<Taint> toRemove, boolean gated) {
        public Plan {
            remaining = List.copyOf(remaining);
            toRemove = List.copyOf(toRemove);
        }

        /** True when none of the configured taints is on the node: the node is done. */
        public boolean clean() {
            return toRemove.isEmpty();
        }

        /** The taints to remove, for messages: {@code key:Effect, key=value:Effect}. */
        public String describeToRemove() {
            return toRemove.stream().map(Taint::toString).collect(Collectors.joining(", "));
        }
    }

    public static Plan plan(List<Taint> current, List<TaintSelector> selectors) {
        List<Taint> remaining = new ArrayList<>(current.size());
        List<Taint> toRemove = new ArrayList<>(1);
        boolean unregistered = false;
        for (Taint t : current) {
            if (matchesAny(t, selectors)) {
                toRemove.add(t);
            } else {
                remaining.add(t);
                unregistered |= KARPENTER_UNREGISTERED.equals(t.key());
            }
        }
        return new Plan(remaining, toRemove, unregistered && !toRemove.isEmpty());
    }

    private static boolean matchesAny(Taint t, List<TaintSelector> selectors) {
        for (TaintSelector s : selectors) {
            if (s.matches(t)) {
                return true;
            }
        }
        return false;
    }

    /** The taints as a JSON array, each element exactly as the server sent it. */
    public static String toJson(List<Taint> taints) {
        return taints.stream().map(Taint::json).collect(Collectors.joining(",", "[", "]"));
    }
}
