package io.github.kscu.taint;

import java.util.Set;
import java.util.regex.Pattern;

/**
 * One configured startup taint: {@code key} matches every effect, {@code key:Effect} only that effect.
 *
 * @param key    the taint key (a Kubernetes qualified name)
 * @param effect {@code NoSchedule}, {@code PreferNoSchedule}, {@code NoExecute}, or {@code null} for any
 */
public record TaintSelector(String key, String effect) {
    public static final Set<String> EFFECTS = Set.of("NoSchedule", "PreferNoSchedule", "NoExecute");

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?");
    private static final Pattern DNS_SUBDOMAIN =
            Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

    public TaintSelector {
        String problem = problem(key, effect);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
    }

    /** Parses {@code key} or {@code key:Effect}. */
    public static TaintSelector parse(String spec) {
        String s = spec.strip();
        int colon = s.lastIndexOf(':');
        return colon < 0 ? new TaintSelector(s, null) : new TaintSelector(s.substring(0, colon), s.substring(colon + 1));
    }

    public boolean matches(Taint taint) {
        return key.equals(taint.key()) && (effect == null || effect.equals(taint.effect()));
    }

    @Override
    public String toString() {
        return effect == null ? key : key + ':' + effect;
    }

    private static String problem(String key, String effect) {
        if (key == null || key.isEmpty()) {
            return "empty taint key";
        }
        if (key.indexOf('=') >= 0) {
            return "taint key must not carry a value (use key or key:Effect, not key=value:Effect)";
        }
        String name = key;
        int slash = key.indexOf('/');
        if (slash >= 0) {
            String prefix = key.substring(0, slash);
            name = key.substring(slash + 1);
            if (prefix.isEmpty() || prefix.length() > 253 || !DNS_SUBDOMAIN.matcher(prefix).matches()) {
                return "taint key prefix \"" + prefix + "\" is not a DNS subdomain";
            }
        }
        if (!NAME.matcher(name).matches()) {
            return "taint key name \"" + name + "\" is not a qualified name (at most 63 of [A-Za-z0-9-_.],"
                    + " alphanumeric at both ends)";
        }
        if (effect != null && !EFFECTS.contains(effect)) {
            return "taint effect \"" + effect + "\" is not NoSchedule, PreferNoSchedule or NoExecute";
        }
        return null;
    }
}
