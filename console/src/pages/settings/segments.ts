/** Characters of one SMS segment as brandname gateways count them, unaccented text. */
export const SMS_SEGMENT = 160;
/** Characters of each segment of a longer (concatenated) message. */
const CONCATENATED = 153;

/**
 * How many segments a message takes. Brandname gateways in Vietnam send unaccented text (GSM),
 * so accented letters are counted as their plain forms would be; merge fields count as written
 * here, and the sent message can be longer once they are filled in.
 */
export function smsSegments(text: string): number {
  const length = [...text.normalize("NFD").replace(/\p{Diacritic}/gu, "")].length;
  if (length === 0) return 0;
  return length <= SMS_SEGMENT ? 1 : Math.ceil(length / CONCATENATED);
}
