/** Small static payloads the example's tools, resources and prompts return; built once, at load. */

/** A 1x1 red pixel. */
export const RED_PIXEL_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC';

/** One millisecond of silence: 8 kHz, mono, 8-bit PCM. */
export const SILENCE_WAV = 'UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==';

export const image = { type: 'image', data: RED_PIXEL_PNG, mimeType: 'image/png' } as const;
export const audio = { type: 'audio', data: SILENCE_WAV, mimeType: 'audio/wav' } as const;
export const text = (value: string) => ({ type: 'text', text: value }) as const;
