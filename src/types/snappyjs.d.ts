/** Types for snappyjs 0.7 (CommonJS, ships none): only the two functions Weir calls. */
declare module 'snappyjs' {
  /** Raw snappy (no framing). Returns the same kind it was given (Buffer in, Buffer out). */
  export function compress<T extends Uint8Array | ArrayBuffer>(uncompressed: T): T;
  /** Throws on invalid input; `maxLength` bounds the declared uncompressed length. */
  export function uncompress<T extends Uint8Array | ArrayBuffer>(compressed: T, maxLength?: number): T;
  const snappy: { compress: typeof compress; uncompress: typeof uncompress };
  export default snappy;
}
