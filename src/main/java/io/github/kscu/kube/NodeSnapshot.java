package io.github.kscu.kube;

import io.github.kscu.taint.Taint;
import java.util.List;

/** The parts of a Node the agent needs, as of one resourceVersion. */
public record NodeSnapshot(String name, String uid, String resourceVersion, List<Taint> taints) {
    public NodeSnapshot {
        taints = List.copyOf(taints);
    }
}
