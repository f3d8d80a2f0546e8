package io.github.kscu.cert;

import java.net.InetAddress;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;

/** Subject alternative names: whether a certificate names a host the way a TLS client checks it. */
final class Sans {
    private static final int DNS = 2;
    private static final int IP = 7;

    private Sans() {
    }

    /** True when a DNS name equals {@code name} (case-insensitively). */
    static boolean hasDnsName(X509Certificate cert, String name) {
        for (List<?> san : names(cert)) {
            if ((Integer) san.get(0) == DNS && String.valueOf(san.get(1)).equalsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }

    /** True when the SANs include {@code host}: as an IP address if it is a literal, else as a DNS name. */
    static boolean includes(X509Certificate cert, String host) {
        if (!isIpLiteral(host)) {
            return hasDnsName(cert, host);
        }
        for (List<?> san : names(cert)) {
            if ((Integer) san.get(0) == IP && sameAddress(String.valueOf(san.get(1)), host)) {
                return true;
            }
        }
        return false;
    }

    private static Collection<List<?>> names(X509Certificate cert) {
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            return sans == null ? List.of() : sans;
        } catch (CertificateParsingException e) {
            return List.of(); // names nothing: the caller reports the mismatch
        }
    }

    private static boolean isIpLiteral(String s) {
        return s.indexOf(':') >= 0 || s.matches("\\d{1,3}(\\.\\d{1,3}){3}");
    }

    private static boolean sameAddress(String a, String b) {
        try {
            // Both are literals (no lookup happens): compares 2001:db8::1 and 2001:DB8:0::1 correctly.
            return InetAddress.getByName(a).equals(InetAddress.getByName(b));
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
