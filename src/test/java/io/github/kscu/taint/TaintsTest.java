package io.github.kscu.taint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.kscu.taint.Taints.Plan;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TaintsTest {
    static final String OURS = "example.com/kubelet-no-server-cert";

    static Taint t(String key, String effect) {
        return new Taint(key, null, effect, "{\"key\":\"" + key + "\",\"effect\":\"" + effect + "\"}");
    }

    @Test
    void removesOnlyTheConfiguredKeyAndKeepsOrder() {
        List<Taint> node = List.of(t("a.io/first", "NoSchedule"), t(OURS, "NoSchedule"), t("b.io/last", "NoExecute"));
        Plan p = Taints.plan(node, List.of(TaintSelector.parse(OURS)));
        assertThat(p.remaining()).containsExactly(node.get(0), node.get(2));
        assertThat(p.toRemove()).containsExactly(node.get(1));
        assertThat(p.gated()).isFalse();
        assertThat(p.clean()).isFalse();
    }

    @Test
    void keyWithoutEffectMatchesEveryEffect() {
        List<Taint> node = List.of(t(OURS, "NoSchedule"), t(OURS, "NoExecute"));
        assertThat(Taints.plan(node, List.of(TaintSelector.parse(OURS))).remaining()).isEmpty();
    }

    @Test
    void keyWithEffectLeavesTheSameKeyWithAnotherEffect() {
        List<Taint> node = List.of(t(OURS, "NoSchedule"), t(OURS, "NoExecute"));
        Plan p = Taints.plan(node, List.of(TaintSelector.parse(OURS + ":NoExecute")));
        assertThat(p.remaining()).containsExactly(node.get(0));
        assertThat(p.toRemove()).containsExactly(node.get(1));
    }

    @Test
    void nothingToDoIsClean() {
        Plan p = Taints.plan(List.of(t("a.io/x", "NoSchedule")), List.of(TaintSelector.parse(OURS)));
        assertThat(p.clean()).isTrue();
        assertThat(Taints.plan(List.of(), List.of(TaintSelector.parse(OURS))).clean()).isTrue();
    }

    @Test
    void karpenterUnregisteredGatesOnlyWhileOursIsPresent() {
        Taint unregistered = t(Taints.KARPENTER_UNREGISTERED, "NoExecute");
        assertThat(Taints.plan(List.of(unregistered, t(OURS, "NoSchedule")), List.of(TaintSelector.parse(OURS)))
                .gated()).isTrue();
        assertThat(Taints.plan(List.of(unregistered), List.of(TaintSelector.parse(OURS))).gated()).isFalse();
    }

    @Test
    void configuringTheKarpenterTaintItselfIsNotGated() {
        // An operator who lists karpenter.sh/unregistered explicitly asked us to remove it.
        Taint unregistered = t(Taints.KARPENTER_UNREGISTERED, "NoExecute");
        Plan p = Taints.plan(List.of(unregistered), List.of(TaintSelector.parse(Taints.KARPENTER_UNREGISTERED)));
        assertThat(p.gated()).isFalse();
        assertThat(p.toRemove()).containsExactly(unregistered);
    }

    @Test
    void toJsonKeepsTheServersBytes() {
        Taint odd = new Taint("a", null, "NoSchedule", "{\"effect\":\"NoSchedule\",\"key\":\"a\",\"timeAdded\":\"x\"}");
        assertThat(Taints.toJson(List.of(odd, odd))).isEqualTo("[" + odd.json() + "," + odd.json() + "]");
        assertThat(Taints.toJson(List.of())).isEqualTo("[]");
    }

    /** Property: for random taint lists, the plan is a partition that preserves order and never drops a foreign taint. */
    @Test
    void randomTaintListsArePartitionedExactly() {
        SplittableRandom random = new SplittableRandom(20261125);
        String[] keys = {OURS, "a.io/x", "b.io/y", Taints.KARPENTER_UNREGISTERED, "node.kubernetes.io/not-ready"};
        String[] effects = TaintSelector.EFFECTS.toArray(String[]::new);
        for (int run = 0; run < 5_000; run++) {
            List<Taint> node = new ArrayList<>();
            int n = random.nextInt(8);
            for (int i = 0; i < n; i++) {
                node.add(t(keys[random.nextInt(keys.length)], effects[random.nextInt(effects.length)]));
            }
            boolean anyEffect = random.nextBoolean();
            String effect = anyEffect ? null : effects[random.nextInt(effects.length)];
            List<TaintSelector> selectors = anyEffect ? List.of(TaintSelector.parse(OURS))
                    : List.of(new TaintSelector(OURS, effect), TaintSelector.parse("b.io/y"));
            // What those selectors mean, written out here rather than asked of the code under test.
            Predicate<Taint> configured = x -> (x.key().equals(OURS) && (effect == null || effect.equals(x.effect())))
                    || (!anyEffect && x.key().equals("b.io/y"));
            Plan p = Taints.plan(node, selectors);
            List<Taint> expectRemaining = node.stream().filter(configured.negate()).toList();
            List<Taint> expectRemoved = node.stream().filter(configured).toList();
            assertThat(p.remaining()).isEqualTo(expectRemaining);
            assertThat(p.toRemove()).isEqualTo(expectRemoved);
            assertThat(p.remaining().size() + p.toRemove().size()).isEqualTo(node.size());
            boolean unregistered = expectRemaining.stream().anyMatch(x -> x.key().equals(Taints.KARPENTER_UNREGISTERED));
            assertThat(p.gated()).isEqualTo(unregistered && !expectRemoved.isEmpty());
            // Applying the plan again changes nothing: removal is idempotent.
            assertThat(Taints.plan(p.remaining(), selectors).clean()).isTrue();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "a=b", "a.io/", "/x", "UPPER.io/x", "x:Sometimes", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})
    void badSelectorsAreRejected(String spec) {
        assertThatThrownBy(() -> TaintSelector.parse(spec)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"a", "example.com/x", "x:NoSchedule", "x:PreferNoSchedule", "k8s.io/a_b.c-d:NoExecute"})
    void goodSelectorsParse(String spec) {
        assertThat(TaintSelector.parse(spec).toString()).isEqualTo(spec);
    }
}
