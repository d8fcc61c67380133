/** The console's CSV writer (console/src/csv.ts): RFC 4180 quoting and formula neutralisation. */
import { describe, expect, it } from 'vitest';
import { csvField, toCsv } from '../../console/src/csv.js';

describe('console CSV', () => {
  it('quotes only what needs it, doubles quotes, CRLF line ends', () => {
    expect(toCsv(['a', 'b'], [[1, 'x'], [0.5, null]])).toBe('a,b\r\n1,x\r\n0.5,\r\n');
    expect(csvField('device = "tv"')).toBe('"device = ""tv"""');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(' padded')).toBe('" padded"');
    expect(csvField('2001:db8::1')).toBe('2001:db8::1');
    expect(csvField('nas · https')).toBe('nas · https');
    expect(csvField(undefined)).toBe('');
    expect(csvField(Number.NaN)).toBe('');
    expect(csvField(true)).toBe('true');
  });

  it('text a spreadsheet would evaluate gets a leading apostrophe; numbers stay numbers', () => {
    expect(csvField('=HYPERLINK("http://x")')).toBe('"\'=HYPERLINK(""http://x"")"');
    expect(csvField('+1+2')).toBe("'+1+2");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('-')).toBe('-');
    expect(csvField('-12.5')).toBe('-12.5');
    expect(csvField(-12.5)).toBe('-12.5');
  });
});
