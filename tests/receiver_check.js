// The receiver code from StatusStack's documentation, which customers already run, unchanged,
// with a loop around it. The test suite runs it to prove that every signature we send passes it.
//
// Usage: node receiver_check.js SECRET BODY_FILE SIGNATURE [SECRET BODY_FILE SIGNATURE ...]
// Prints "valid" or "invalid" for each triple, one per line, in order.

const crypto = require('crypto');
const fs = require('fs');

// --- the documented receiver code ---
function verifySignature(payload, signature, secret) {
  const digest = crypto.createHmac('sha256', secret).update(payload).digest('hex');
  return crypto.timingSafeEqual(Buffer.from(signature), Buffer.from(digest));
}
// --- end of the documented receiver code ---

const args = process.argv.slice(2);
if (args.length === 0 || args.length % 3 !== 0) {
  console.error('usage: node receiver_check.js SECRET BODY_FILE SIGNATURE [...]');
  process.exit(2);
}
const lines = [];
for (let i = 0; i < args.length; i += 3) {
  const [secret, bodyFile, signature] = args.slice(i, i + 3);
  const payload = fs.readFileSync(bodyFile);  // the raw body bytes, as received
  lines.push(verifySignature(payload, signature, secret) ? 'valid' : 'invalid');
}
process.stdout.write(lines.join('\n') + '\n');
