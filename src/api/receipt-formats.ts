/** The formats `baton report` writes a receipt in; light, so the CLI names them without loading the report. */
export const receiptFormats = ['md', 'html', 'json'] as const;
export type ReceiptFormat = (typeof receiptFormats)[number];

export function isReceiptFormat(format: string): format is ReceiptFormat {
  return (receiptFormats as readonly string[]).includes(format);
}
