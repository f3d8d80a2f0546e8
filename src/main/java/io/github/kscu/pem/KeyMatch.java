package io.github.kscu.pem;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.Arrays;
import java.util.List;

/**
 * Whether a certificate belongs to a private key, compared on the public half that the key's own
 * encoding carries (an RSA modulus, an EC point). No key object is built: the JDK's would keep the
 * private value in an immutable BigInteger that cannot be wiped, while the caller wipes the DER.
 */
public final class KeyMatch {
    /** 1.2.840.113549.1.1.1 rsaEncryption and 1.2.840.10045.2.1 id-ecPublicKey, as DER contents. */
    private static final byte[] RSA_OID = {0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01};
    private static final byte[] EC_OID = {0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};
    private static final int INTEGER = 0x02;
    private static final int BIT_STRING = 0x03;
    private static final int OCTET_STRING = 0x04;
    private static final int PUBLIC_KEY_TAG = 0xa1;

    private KeyMatch() {
    }

    /** The public half inside a PEM private key block's DER; {@code der} is read, not kept. */
    public static byte[] publicHalf(String label, byte[] der) throws GeneralSecurityException {
        Der.Element root = Der.root(der);
        return switch (label) {
            case "RSA PRIVATE KEY" -> rsaModulus(der, root);
            case "EC PRIVATE KEY" -> ecPoint(der, root);
            case "PRIVATE KEY" -> pkcs8(der, root);
            default -> throw new GeneralSecurityException("unsupported private key block \"" + label + "\"");
        };
    }

    /** RSAPrivateKey ::= SEQUENCE { version, modulus, publicExponent, ... }. */
    private static byte[] rsaModulus(byte[] der, Der.Element key) throws GeneralSecurityException {
        List<Der.Element> c = Der.children(der, key);
        if (c.size() < 3 || c.get(1).tag() != INTEGER) {
            throw new GeneralSecurityException("RSA PRIVATE KEY without a modulus");
        }
        return unsigned(Arrays.copyOfRange(der, c.get(1).start(), c.get(1).end()));
    }

    /** ECPrivateKey ::= SEQUENCE { version, privateKey, [0] parameters OPTIONAL, [1] publicKey OPTIONAL }. */
    private static byte[] ecPoint(byte[] der, Der.Element key) throws GeneralSecurityException {
        for (Der.Element e : Der.children(der, key)) {
            if (e.tag() == PUBLIC_KEY_TAG) {
                Der.Element bits = Der.read(der, e.start(), e.end());
                if (bits.tag() == BIT_STRING && bits.length() > 1) {
                    return Arrays.copyOfRange(der, bits.start() + 1, bits.end()); // after the unused-bits octet
                }
            }
        }
        throw new GeneralSecurityException("EC PRIVATE KEY without its public key");
    }

    /** PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier, OCTET STRING (PKCS#1 or SEC1) }. */
    private static byte[] pkcs8(byte[] der, Der.Element info) throws GeneralSecurityException {
        List<Der.Element> c = Der.children(der, info);
        if (c.size() < 3 || c.get(2).tag() != OCTET_STRING) {
            throw new GeneralSecurityException("PRIVATE KEY is not PKCS#8");
        }
        Der.Element oid = Der.children(der, c.get(1)).getFirst();
        Der.Element inner = Der.read(der, c.get(2).start(), c.get(2).end());
        byte[] algorithm = Arrays.copyOfRange(der, oid.start(), oid.end());
        if (Arrays.equals(algorithm, RSA_OID)) {
            return rsaModulus(der, inner);
        }
        if (Arrays.equals(algorithm, EC_OID)) {
            return ecPoint(der, inner);
        }
        throw new GeneralSecurityException("PRIVATE KEY of an algorithm other than RSA or EC");
    }

    /** True when {@code cert}'s public key is the one whose public half is {@code half}. */
    public static boolean matches(byte[] half, X509Certificate cert) {
        PublicKey k = cert.getPublicKey();
        if (k instanceof RSAPublicKey rsa) {
            return Arrays.equals(half, unsigned(rsa.getModulus().toByteArray()));
        }
        if (k instanceof ECPublicKey ec) {
            int size = (ec.getParams().getCurve().getField().getFieldSize() + 7) / 8;
            byte[] x = fixed(ec.getW().getAffineX(), size);
            if (half.length == 1 + 2 * size && half[0] == 0x04) {
                byte[] y = fixed(ec.getW().getAffineY(), size);
                return Arrays.equals(half, 1, 1 + size, x, 0, size) && Arrays.equals(half, 1 + size, half.length, y, 0, size);
            }
            if (half.length == 1 + size && (half[0] == 0x02 || half[0] == 0x03)) {
                boolean odd = ec.getW().getAffineY().testBit(0);
                return half[0] == (odd ? 0x03 : 0x02) && Arrays.equals(half, 1, half.length, x, 0, size);
            }
        }
        return false;
    }

    private static byte[] unsigned(byte[] twosComplement) {
        int i = 0;
        while (i < twosComplement.length - 1 && twosComplement[i] == 0) {
            i++;
        }
        return Arrays.copyOfRange(twosComplement, i, twosComplement.length);
    }

    private static byte[] fixed(BigInteger v, int size) {
        byte[] u = unsigned(v.toByteArray());
        byte[] out = new byte[size];
        System.arraycopy(u, 0, out, size - u.length, u.length);
        return out;
    }
}
