package io.github.kscu.config;

/** An invalid setting: the message is the single line printed before exiting with code 2. */
public final class InvalidSettingException extends Exception {
    public InvalidSettingException(String message) {
        super(message, null, false, false);
    }

    /** A setting whose value parsed but whose target does not load: "invalid --x (X): detail". */
    public static InvalidSettingException because(Setting setting, String detail) {
        return new InvalidSettingException("invalid " + setting.displayName() + ": " + detail);
    }

    public static InvalidSettingException of(Setting setting, String value, String why) {
        String shown = value == null ? "<unset>" : '"' + value + '"';
        return new InvalidSettingException("invalid " + setting.displayName() + " " + shown + ": " + why
                + "; accepted: " + setting.accepted());
    }

    static InvalidSettingException of(Setting setting, String value) {
        String shown = value == null ? "<unset>" : '"' + value + '"';
        return new InvalidSettingException("invalid " + setting.displayName() + " " + shown
                + "; accepted: " + setting.accepted());
    }
}
