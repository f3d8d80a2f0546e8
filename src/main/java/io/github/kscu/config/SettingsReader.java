package io.github.kscu.config;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/** Reads raw values with their defaults and turns a bad one into its one-line error. */
record SettingsReader(Map<String, String> values) {
    /** The value of a variable that is not a setting (HOST_IP), or empty. */
    String raw(String env) {
        return values.getOrDefault(env, "");
    }

    String get(Setting s) {
        String v = values.get(s.env());
        return v == null ? s.defaultValue() : v.strip();
    }

    String required(Setting s) throws InvalidSettingException {
        String v = get(s);
        if (v == null || v.isEmpty()) {
            throw InvalidSettingException.of(s, v, "required");
        }
        return v;
    }

    Path path(Setting s) throws InvalidSettingException {
        String v = get(s);
        try {
            return Path.of(v);
        } catch (InvalidPathException e) {
            throw InvalidSettingException.of(s, v, "not a path");
        }
    }

    Duration duration(Setting s) throws InvalidSettingException {
        String v = get(s);
        Optional<Duration> d = Durations.parse(v);
        if (d.isEmpty()) {
            throw InvalidSettingException.of(s, v);
        }
        Duration max = s.maxDuration();
        if (max != null && d.get().compareTo(max) > 0) {
            throw InvalidSettingException.of(s, v, "above the limit of " + Durations.format(max));
        }
        return d.get();
    }

    boolean bool(Setting s) throws InvalidSettingException {
        String v = get(s);
        return switch (v) {
            case "1", "t", "T", "true", "TRUE", "True" -> true;
            case "0", "f", "F", "false", "FALSE", "False" -> false;
            default -> throw InvalidSettingException.of(s, v);
        };
    }

    <E extends Enum<E>> E choice(Setting s, Class<E> type) throws InvalidSettingException {
        String v = get(s);
        for (E e : type.getEnumConstants()) {
            if (Settings.lower(e).equals(v)) {
                return e;
            }
        }
        throw InvalidSettingException.of(s, v);
    }
}
