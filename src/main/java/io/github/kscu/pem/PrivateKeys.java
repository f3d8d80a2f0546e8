package io.github.kscu.pem;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * Private keys with the JDK alone, from the three PEM blocks a kubeconfig may hold: PKCS#8, PKCS#1 (RSA)
 * and SEC1 (EC). The last two are wrapped into PKCS#8 with a few bytes of DER rather than pulling 10 MB
 * of Bouncy Castle into the image for a path the in-cluster agent never takes.
 */
public final class PrivateKeys {
    /** AlgorithmIdentifier rsaEncryption with NULL parameters. */
    private static final byte[] RSA_ALGORITHM = HexFormat.of().parseHex("300d06092a864886f70d0101010500");
    /** OID id-ecPublicKey. */
    private static final byte[] EC_PUBLIC_KEY_OID = HexFormat.of().parseHex("06072a8648ce3d0201");
    private static final byte[] VERSION_0 = HexFormat.of().parseHex("020100");

    private PrivateKeys() {
    }

    /** True for the labels {@link #parse} reads. */
    public static boolean isKey(String label) {
        return switch (label) {
            case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY" -> true;
            default -> false;
        };
    }

    /** The key in a block's DER; {@code der} is read, not kept (the caller wipes it). */
    public static PrivateKey parse(String label, byte[] der) throws GeneralSecurityException {
        return switch (label) {
            case "PRIVATE KEY" -> pkcs8(der, "RSA", "EC", "Ed25519");
            case "RSA PRIVATE KEY" -> pkcs8(wrap(RSA_ALGORITHM, der), "RSA");
            case "EC PRIVATE KEY" -> pkcs8(wrap(Der.sequence(EC_PUBLIC_KEY_OID, curveOid(der)), der), "EC");
            default -> throw new GeneralSecurityException("not a private key block: " + label);
        };
    }

    private static PrivateKey pkcs8(byte[] der, String... algorithms) throws GeneralSecurityException {
        GeneralSecurityException last = null;
        for (String algorithm : algorithms) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw last;
    }

    /** PrivateKeyInfo ::= SEQUENCE { version 0, algorithm, OCTET STRING key }. */
    private static byte[] wrap(byte[] algorithm, byte[] key) {
        return Der.sequence(VERSION_0, algorithm, Der.tlv(0x04, key));
    }

    /** The named curve from SEC1's {@code [0] parameters}: ECPrivateKey ::= SEQUENCE { 1, key, [0] OID, ... }. */
    private static byte[] curveOid(byte[] sec1) throws GeneralSecurityException {
        for (Der.Element e : Der.children(sec1, Der.root(sec1))) {
            if (e.tag() == 0xa0) {
                return Arrays.copyOfRange(sec1, e.start(), e.end());
            }
        }
        throw new GeneralSecurityException("EC PRIVATE KEY without named-curve parameters");
    }
}
