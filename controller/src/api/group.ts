/** The API group and version of the controller's resources (AlertScaler, OnSale). */
export const GROUP = 'autoscaling.concert-booking.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
